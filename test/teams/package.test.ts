import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { unzipSync } from 'fflate';
import { buildManifest, buildPackage, manifestDir } from '../../scripts/teams-package.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { manifestProblems } from './kit/manifest.js';

const itc = contractTest('teams app package');

itc(`the committed manifest and the built one validate against Microsoft's published v1.29 schema${skipReason}`, () => {
  expect(manifestProblems(JSON.parse(readFileSync(path.join(manifestDir, 'manifest.json'), 'utf8')))).toEqual([]);
  const built = buildManifest({ botId: '11111111-2222-3333-4444-555555555555', publicUrl: 'https://help.corp.example' });
  expect(manifestProblems(built)).toEqual([]);
  expect(built.bots[0].botId).toBe('11111111-2222-3333-4444-555555555555');
  expect(built.composeExtensions[0].commands[0]).toMatchObject({ id: 'createTicket', type: 'action', context: ['message'] });
  expect(built.validDomains).toContain('help.corp.example');
});

itc(`the validator rejects a broken manifest (so the check above means something)${skipReason}`, () => {
  const bad = buildManifest({});
  bad.manifestVersion = '1.0';
  delete bad.icons;
  expect(manifestProblems(bad).length).toBeGreaterThan(0);
});

test('the zip holds the manifest and valid PNG icons: 192x192 colour, 32x32 white-on-transparent outline', () => {
  const files = unzipSync(buildPackage({}));
  expect(Object.keys(files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
  const color = PNG.sync.read(Buffer.from(files['color.png']!));
  expect([color.width, color.height]).toEqual([192, 192]);
  const outline = PNG.sync.read(Buffer.from(files['outline.png']!));
  expect([outline.width, outline.height]).toEqual([32, 32]);
  for (let i = 0; i < outline.data.length; i += 4) {
    const [r, g, b, a] = outline.data.subarray(i, i + 4);
    expect(a === 0 || (r === 255 && g === 255 && b === 255)).toBe(true);
  }
  // The committed icons are the ones the script draws.
  expect(readFileSync(path.join(manifestDir, 'color.png')).equals(Buffer.from(files['color.png']!))).toBe(true);
});
