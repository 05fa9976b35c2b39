import { existsSync } from 'node:fs';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';

export interface Bar {
  label: string;
  group: string;
  value: number;
}

const COLORS = ['#2f6fdb', '#e8833a', '#3aa57a', '#c94f6d'];

/** A grouped horizontal bar chart as PNG bytes; text uses DejaVu Sans when the system has it. */
export async function renderChart(bars: Bar[], title: string): Promise<Buffer> {
  const font = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  if (existsSync(font)) GlobalFonts.registerFromPath(font, 'DejaVu Sans');
  const labels = [...new Set(bars.map((b) => b.label))];
  const groups = [...new Set(bars.map((b) => b.group))];
  const rowHeight = 18 * groups.length + 14;
  const width = 1000;
  const left = 220;
  const right = 120;
  const top = 60;
  const height = top + labels.length * rowHeight + 40;
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = '#111111';
  g.font = 'bold 16px "DejaVu Sans", sans-serif';
  g.fillText(title, 16, 28);
  const max = Math.max(...bars.map((b) => b.value), 1);
  const scale = (width - left - right) / max;
  g.font = '13px "DejaVu Sans", sans-serif';
  groups.forEach((group, i) => {
    g.fillStyle = COLORS[i % COLORS.length]!;
    g.fillRect(left + i * 120, 40, 12, 12);
    g.fillStyle = '#111111';
    g.fillText(group, left + i * 120 + 18, 51);
  });
  labels.forEach((label, row) => {
    const y = top + row * rowHeight;
    g.fillStyle = '#111111';
    g.fillText(label, 16, y + rowHeight / 2 + 4);
    groups.forEach((group, i) => {
      const bar = bars.find((b) => b.label === label && b.group === group);
      if (!bar) return;
      const barY = y + 4 + i * 18;
      g.fillStyle = COLORS[i % COLORS.length]!;
      g.fillRect(left, barY, Math.max(1, bar.value * scale), 14);
      g.fillStyle = '#333333';
      g.fillText(bar.value.toFixed(0), left + bar.value * scale + 6, barY + 12);
    });
  });
  return canvas.toBuffer('image/png');
}
