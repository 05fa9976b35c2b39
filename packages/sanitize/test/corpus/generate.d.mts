export interface CorpusRecord {
  id: string;
  label: 'sensitive' | 'benign';
  rule?: string;
  value?: string;
  text: string;
}
export declare const SEED: number;
export declare function generateCorpus(seed?: number): CorpusRecord[];
