/**
 * Builds the Teams app package (manifest.json + colour and outline icons, zipped) that an admin
 * uploads in Teams. `npm run teams:package [-- --out path.zip]`. The bot id comes from
 * MicrosoftAppId and validDomains from PUBLIC_URL; the icons are drawn here as PNGs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { zipSync } from 'fflate';
import { loadConfig } from '../src/config/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const manifestDir = path.join(repoRoot, 'manifests', 'teams');
const PLACEHOLDER_BOT_ID = '00000000-0000-0000-0000-000000000000';
const ACCENT: [number, number, number] = [0x2b, 0x6c, 0xb0];

/** A bridge: an arch over a deck, in the unit square; true where the shape is. */
function bridge(x: number, y: number): boolean {
  const deck = y > 0.58 && y < 0.68 && x > 0.12 && x < 0.88;
  const r = Math.hypot(x - 0.5, (y - 0.62) * 1.3);
  const arch = y < 0.62 && r > 0.26 && r < 0.34;
  const pillar = y >= 0.62 && y < 0.82 && ((x > 0.2 && x < 0.27) || (x > 0.73 && x < 0.8));
  return deck || arch || pillar;
}

function draw(size: number, pixel: (inShape: boolean) => [number, number, number, number]): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(bridge((x + 0.5) / size, (y + 0.5) / size));
      const i = (y * size + x) * 4;
      png.data[i] = r; png.data[i + 1] = g; png.data[i + 2] = b; png.data[i + 3] = a;
    }
  }
  return PNG.sync.write(png);
}

/** 192x192 full colour (white bridge on the accent colour). */
export const colorIcon = () => draw(192, (s) => (s ? [255, 255, 255, 255] : [...ACCENT, 255]));
/** 32x32 outline: white on transparent, as Teams requires. */
export const outlineIcon = () => draw(32, (s) => (s ? [255, 255, 255, 255] : [0, 0, 0, 0]));

export function buildManifest(opts: { botId?: string; publicUrl?: string }): Record<string, any> {
  const manifest = JSON.parse(readFileSync(path.join(manifestDir, 'manifest.json'), 'utf8'));
  const botId = opts.botId || PLACEHOLDER_BOT_ID;
  for (const b of manifest.bots) b.botId = botId;
  for (const c of manifest.composeExtensions) c.botId = botId;
  // Resource-specific consent (ChannelMessage.Read.Group) is granted to the bot's Entra app.
  if (manifest.webApplicationInfo) manifest.webApplicationInfo.id = botId;
  if (opts.publicUrl) {
    const host = new URL(opts.publicUrl).host;
    if (!manifest.validDomains.includes(host)) manifest.validDomains.push(host);
  }
  return manifest;
}

export function buildPackage(opts: { botId?: string; publicUrl?: string }): Uint8Array {
  const manifest = buildManifest(opts);
  return zipSync({
    'manifest.json': new TextEncoder().encode(JSON.stringify(manifest, null, 2)),
    [manifest.icons.color]: new Uint8Array(colorIcon()),
    [manifest.icons.outline]: new Uint8Array(outlineIcon()),
  });
}

function main(): void {
  const config = loadConfig();
  const outIdx = process.argv.indexOf('--out');
  const out = path.resolve(outIdx > 0 ? process.argv[outIdx + 1]! : path.join(repoRoot, 'dist', 'deskbridge-teams.zip'));
  // Keep the icons in the repo current too, so the manifest folder is a valid package by itself.
  writeFileSync(path.join(manifestDir, 'color.png'), colorIcon());
  writeFileSync(path.join(manifestDir, 'outline.png'), outlineIcon());
  if (!config.MicrosoftAppId) console.warn('MicrosoftAppId is not set: the package carries a placeholder bot id (fine for the Emulator, not for Teams).');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, buildPackage({ botId: config.MicrosoftAppId, publicUrl: config.PUBLIC_URL }));
  console.log(`wrote ${out}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
