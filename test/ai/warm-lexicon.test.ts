import { aiModule } from '../../src/ai/module.js';
import { loadedLanguages } from '../../src/ai/lexicon.js';
import { startTestApp, type TestApp } from '../support/db.js';

/*
 * The first sentiment classification on a fresh service loaded the lexicon's language pack and
 * compiled its rules on the event loop (~130 ms while six large mails and Slack's acks waited). The
 * service now does it shortly after it starts listening, before any end-user message.
 */
let t: TestApp;
afterAll(async () => { await t?.close(); });

test('shortly after start the English lexicon is loaded, without any message classified', async () => {
  expect(loadedLanguages()).toEqual([]);
  t = await startTestApp({ modules: [aiModule] });
  const deadline = Date.now() + 10_000;
  while (!loadedLanguages().includes('en') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(loadedLanguages()).toEqual(['en']);
});
