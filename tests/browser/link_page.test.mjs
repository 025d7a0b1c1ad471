// The payment-link page in Debian's headless Chromium, driven by playwright-core,
// against the real paysync binary on ephemeral ports. A billing terminal
// (a WebSocket client here) opens the transaction and sends the amount; the
// browser is the payer's phone.
//
// Environment:
//   PAYSYNC_BINARY             the paysync executable (required)
//   PAYSYNC_BROWSER_ARTIFACTS  where screenshots go (default ./browser-artifacts)
//   PAYSYNC_CHROMIUM           the browser (default /usr/bin/chromium; never a downloaded one)
//
// Run: node link_page.test.mjs   (ctest: BrowserLinkPage.PaysFromThePhoneBrowser)
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';


let chromium;
let WebSocket;
try {
  ({ chromium } = await import('playwright-core'));
  ({ default: WebSocket } = await import('ws'));
} catch (e) {
  console.error(`tests/browser has no node_modules (${e.message}); run \`npm ci\` there ` +
    '(scripts/test.sh does it)');
  process.exit(2);
}

const BINARY = process.env.PAYSYNC_BINARY;
const ARTIFACTS = path.resolve(process.env.PAYSYNC_BROWSER_ARTIFACTS || 'browser-artifacts');
const CHROMIUM = process.env.PAYSYNC_CHROMIUM || '/usr/bin/chromium';
const MSISDN = '254700000001';  // Amina Wanjiru in the demo data
const TERMINAL = 't-kahawa-01';
const WAIT_MS = 15000;
// The flags this machine needs (docs: .library/env/machines/cpp.md); Playwright
// adds --headless and a fresh --user-data-dir of its own for every launch.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PAGE_STATES = ['connecting', 'merchant', 'waiting-amount', 'amount', 'paying', 'receipt',
  'cancelled', 'expired', 'failed', 'error', 'disconnected'];

if (!BINARY || !fs.existsSync(BINARY)) {
  console.error(`PAYSYNC_BINARY must name the paysync executable (got "${BINARY ?? ''}")`);
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: run scripts/install-deps.sh (Debian's chromium)`);
  process.exit(2);
}
fs.mkdirSync(ARTIFACTS, { recursive: true });
for (const old of fs.readdirSync(ARTIFACTS)) {
  if (old.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, old));
}

// --- helpers -------------------------------------------------------------------

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- the switch ------------------------------------------------------------------

// The real binary, under a shell that stops it when this process's pipe to
// the shell closes (stop(), or node's own exit, however it dies) and kills it
// when the shell is signalled: the switch never outlives the test.
class Switch {
  async start() {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paysync-browser-'));
    this.log = [];
    const args = ['serve', '--data-dir', this.dataDir, '--billing-port', '0', '--paying-port', '0',
      '--workers', '2', '--shards', '2'];
    // Every listener on an ephemeral port, so tests may run side by side.
    const help = execFileSync(BINARY, ['serve', '--help'], { encoding: 'utf8' });
    if (help.includes('--operator-port')) args.push('--operator-port', '0');
    const guard = '"$0" "$@" & pid=$!; ' +
      'trap \'kill -KILL $pid 2>/dev/null; exit 1\' HUP INT TERM; ' +
      'read -r _ignored; kill -TERM $pid 2>/dev/null; wait $pid';
    this.child = spawn('/bin/sh', ['-c', guard, BINARY, ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    const ready = deferred();
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        this.log.push(line);
        const m = /^PAYSYNC_READY billing=(\S+):(\d+) paying=(\S+):(\d+)/.exec(line);
        if (m) ready.resolve({ billingPort: Number(m[2]), payingPort: Number(m[4]) });
      }
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', (chunk) => this.log.push(...chunk.toString().split('\n')));
    const early = this.exited.then((code) => {
      throw new Error(`paysync exited (${code}) before PAYSYNC_READY:\n${this.tail()}`);
    });
    try {
      Object.assign(this, await withTimeout(Promise.race([ready.promise, early]), 20000,
        'PAYSYNC_READY'));
    } catch (e) {
      throw new Error(`${e.message}; the switch printed:\n${this.tail()}`);
    }
  }

  // The secret key the switch wrote for a demo terminal on its first start.
  keyFile(terminal) {
    return path.join(this.dataDir, 'terminal-keys', `${terminal}.key`);
  }

  tail(lines = 30) {
    return this.log.filter(Boolean).slice(-lines).join('\n');
  }

  // A graceful stop (SIGTERM to the switch); SIGKILL if it takes over 5 s.
  async stop() {
    if (!this.child || this.stopped) return;
    this.stopped = true;
    const exitedWithin = (ms) => Promise.race([this.exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), ms))]);
    this.child.stdin.end();
    if (!await exitedWithin(5000)) {
      this.child.kill('SIGTERM');  // the shell's trap: SIGKILL to the switch
      await exitedWithin(2000);
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// --- the billing terminal -----------------------------------------------------------

class BillingTerminal {
  constructor(port) {
    this.url = `ws://127.0.0.1:${port}/`;
    this.inbox = [];
    this.waiters = [];
    this.nextRef = 1;
  }

  async connect() {
    this.ws = new WebSocket(this.url);
    this.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i < 0) {
        this.inbox.push(msg);
        return;
      }
      this.waiters.splice(i, 1)[0].resolve(msg);
    });
    await withTimeout(new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    }), WAIT_MS, 'the billing connection');
  }

  // The next message (received already or later) that `match` accepts; each
  // message is handed out once.
  next(match, what) {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    const d = deferred();
    const waiter = { match, resolve: d.resolve };
    this.waiters.push(waiter);
    return withTimeout(d.promise, WAIT_MS, `the billing terminal to receive ${what}`)
      .catch((e) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        throw e;
      });
  }

  event(type, txn) {
    return this.next((m) => m.type === type && m.txn === txn && m.ref === undefined,
      `"${type}" for ${txn}`);
  }

  async request(msg) {
    const ref = String(this.nextRef++);
    this.ws.send(JSON.stringify({ ...msg, ref }));
    const reply = await this.next((m) => m.ref === ref, `the reply to "${msg.type}"`);
    if (reply.type === 'error') {
      throw new Error(`"${msg.type}" refused: ${reply.code}: ${reply.message}`);
    }
    return reply;
  }

  // hello, then the signed hello that answers the switch's challenge
  // (docs/protocol.md, section 3): Ed25519 over "paysync/hello/v1|<id>|<nonce>".
  async identify(id, keyFile) {
    const challenge = await this.request({ type: 'hello', terminal: id });
    assert.equal(challenge.type, 'challenge');
    const [tag, secret] = fs.readFileSync(keyFile, 'utf8').trim().split(' ');
    assert.equal(tag, 'paysync-terminal-key-v1');
    // libsodium's secret key is seed || public key; Node takes the seed as PKCS#8.
    const seed = Buffer.from(secret, 'base64url').subarray(0, 32);
    const key = crypto.createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const signed = `paysync/hello/v1|${id}|${challenge.nonce}`;
    const signature = crypto.sign(null, Buffer.from(signed), key).toString('base64url');
    return this.request({ type: 'hello', terminal: id, nonce: challenge.nonce, signature });
  }

  close() {
    if (this.ws) this.ws.close();
  }
}

// --- the browser ----------------------------------------------------------------------

const reached = new Set();      // every page state any page reached
const screenshots = new Set();  // every screenshot file written

async function newPhone(browser, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 780 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'en-GB',
    timezoneId: 'Africa/Nairobi',
    ...options,
  });
  const page = await context.newPage();
  const phone = { context, page, states: [], problems: [] };
  // Record each data-state the page takes, as it takes it.
  await page.exposeFunction('paysyncStateChanged', (state) => {
    phone.states.push(state);
    reached.add(state);
  });
  await page.addInitScript(() => {
    let last = null;
    const report = () => {
      const state = document.body && document.body.dataset.state;
      if (state && state !== last) {
        last = state;
        window.paysyncStateChanged(state);
      }
    };
    new MutationObserver(report).observe(document, {
      subtree: true, attributes: true, attributeFilter: ['data-state'],
    });
    document.addEventListener('DOMContentLoaded', report);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') phone.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => phone.problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => phone.problems.push(`request failed: ${r.url()}`));
  return phone;
}

async function waitForState(phone, state) {
  try {
    await phone.page.waitForSelector(`body[data-state="${state}"]`, { timeout: WAIT_MS });
  } catch (e) {
    const now = await phone.page.evaluate(() => ({
      state: document.body.dataset.state,
      code: document.body.dataset.errorCode,
      text: document.querySelector('section:not([hidden])')?.innerText,
    })).catch(() => ({}));
    throw new Error(`the page never showed "${state}"; it shows "${now.state}"` +
      `${now.code ? ` (${now.code})` : ''}: ${JSON.stringify(now.text)}\n` +
      `states so far: ${phone.states.join(' -> ')}`);
  }
}

async function snap(phone, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await phone.page.screenshot({ path: file, fullPage: true });
  screenshots.add(`${name}.png`);
}

async function text(phone, selector) {
  return (await phone.page.locator(selector).first().innerText()).trim();
}

// On a failure: a screenshot of where the page stood, then the error.
async function failureShot(phone, name, error) {
  await snap(phone, `failure-${name}`).catch(() => {});
  throw error;
}

// --- the run ------------------------------------------------------------------------------

const paysync = new Switch();
let browser;
let terminal;
let merchant;

before(async () => {
  await paysync.start();
  terminal = new BillingTerminal(paysync.billingPort);
  await terminal.connect();
  const welcome = await terminal.identify(TERMINAL, paysync.keyFile(TERMINAL));
  merchant = welcome.merchant;
  assert.equal(merchant.id, 'm-kahawa');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  console.log(`# paysync on billing ${paysync.billingPort}, paying ${paysync.payingPort}; ` +
    `Chromium ${browser.version()}; screenshots in ${ARTIFACTS}`);
});

after(async () => {
  if (terminal) terminal.close();
  if (browser) await browser.close().catch(() => {});
  await paysync.stop();
});

test('BrowserLinkPage.PaysFromThePhoneBrowser', async (t) => {
  await t.test('pays from the link: merchant, amount, receipt', async () => {
    const opened = await terminal.request({ type: 'open', reference: 'browser-order-1' });
    const linkPrefix = `http://127.0.0.1:${paysync.payingPort}/pay/m-kahawa/lk`;
    assert.ok(opened.link.startsWith(linkPrefix), `unexpected link ${opened.link}`);
    const txn = opened.txn;

    // The carrier gateway (loopback is trusted in the default configuration)
    // adds the number to every request of this browser.
    const phone = await newPhone(browser, { extraHTTPHeaders: { 'X-MSISDN': MSISDN } });
    // Hold two switch -> page messages until their screen is on record: the
    // `merchant` reply (to see "connecting") and the `receipt` (to see
    // "paying"). The page still uses a real WebSocket to the switch.
    const holdMerchant = deferred();
    const holdReceipt = deferred();
    const fromPage = [];
    await phone.page.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        fromPage.push(JSON.parse(message));
        server.send(message);
      });
      let queue = Promise.resolve();
      server.onMessage((message) => {
        const type = JSON.parse(message).type;
        queue = queue.then(async () => {
          if (type === 'merchant') await holdMerchant.promise;
          if (type === 'receipt') await holdReceipt.promise;
          ws.send(message);
        });
      });
    });

    try {
      const response = await phone.page.goto(opened.link);
      assert.equal(response.status(), 200);
      const headers = await response.allHeaders();
      assert.match(headers['content-security-policy'],
        /^default-src 'self'; connect-src 'self' ws: wss:/);
      assert.equal(headers['x-content-type-options'], 'nosniff');
      assert.equal(headers['referrer-policy'], 'no-referrer');
      assert.equal(headers['cache-control'], 'no-store');
      assert.match(headers['set-cookie'] ?? '',
        new RegExp(`^paysync_msisdn=${MSISDN}\\.\\d+\\.[A-Za-z0-9_-]{43}; Max-Age=900; ` +
          'Path=/; HttpOnly; SameSite=Strict$'));

      await waitForState(phone, 'connecting');
      await snap(phone, 'connecting');
      holdMerchant.resolve();

      await waitForState(phone, 'merchant');
      assert.equal(await text(phone, '[data-screen="merchant"] [data-field="merchant-name"]'),
        merchant.name);
      assert.equal(await text(phone, '[data-field="merchant-city"]'), merchant.city);
      assert.equal(await text(phone, '[data-field="merchant-till"]'), merchant.till);
      await snap(phone, 'merchant');
      const join = fromPage.find((m) => m.type === 'join');
      assert.deepEqual(Object.keys(join).sort(), ['ref', 'token', 'type']);
      assert.equal(join.token, opened.link.split('/').pop());

      await phone.page.getByRole('button', { name: 'Confirm merchant' }).click();
      const synchronized = await terminal.event('synchronized', txn);
      assert.equal(synchronized.payer.display_name, 'Amina Wanjiru');
      await waitForState(phone, 'waiting-amount');
      await snap(phone, 'waiting-amount');

      await terminal.request({ type: 'amount', txn, amount: 15000, currency: 'KES' });
      await waitForState(phone, 'amount');
      assert.equal(await text(phone, '[data-screen="amount"] [data-field="amount-display"]'),
        '150.00 KES');
      await snap(phone, 'amount');

      await phone.page.getByRole('button', { name: 'Pay' }).click();
      await waitForState(phone, 'paying');
      await snap(phone, 'paying');
      const confirm = fromPage.find((m) => m.type === 'confirm_amount');
      assert.ok(confirm, 'the page sent no confirm_amount');
      assert.equal(confirm.txn, txn);
      assert.equal(confirm.amount, 15000);
      assert.equal(confirm.currency, 'KES');
      holdReceipt.resolve();

      const settled = await terminal.event('settled', txn);
      await waitForState(phone, 'receipt');
      await snap(phone, 'receipt');
      assert.equal(settled.amount, 15000);
      assert.equal(settled.reference, 'browser-order-1');
      assert.equal(await text(phone, '[data-field="receipt-sequence"]'), String(settled.sequence));
      assert.equal(await text(phone, '[data-field="receipt-amount"]'), '150.00 KES');
      assert.equal(await text(phone, '[data-field="receipt-merchant"]'), merchant.name);
      assert.equal(await text(phone, '[data-field="receipt-txn"]'), txn);
      assert.equal(await phone.page.locator('time[data-field="receipt-time"]')
        .getAttribute('datetime'), settled.settled_at);

      assert.deepEqual(phone.states,
        ['connecting', 'merchant', 'waiting-amount', 'amount', 'paying', 'receipt']);
      assert.deepEqual(phone.problems, []);
    } catch (e) {
      await failureShot(phone, 'pays', e);
    } finally {
      await phone.context.close();
    }
  });

  await t.test('the cookie alone identifies the browser on the upgrade; merchant cancels',
    async () => {
      const opened = await terminal.request({ type: 'open', reference: 'browser-order-2' });
      // Only the page request carries the number (as when the carrier enriches
      // HTTP but not the WebSocket upgrade): the join works through the cookie.
      const phone = await newPhone(browser);
      await phone.page.route(/\/pay\/m-kahawa\/lk/, (route) =>
        route.continue({ headers: { ...route.request().headers(), 'x-msisdn': MSISDN } }));
      try {
        await phone.page.goto(opened.link);
        await waitForState(phone, 'merchant');
        const cookies = await phone.context.cookies();
        assert.equal(cookies.length, 1);
        assert.equal(cookies[0].name, 'paysync_msisdn');
        assert.equal(cookies[0].httpOnly, true);
        assert.equal(cookies[0].sameSite, 'Strict');
        await terminal.request({ type: 'cancel', txn: opened.txn, reason: 'the order was changed' });
        await waitForState(phone, 'cancelled');
        assert.match(await text(phone, '[data-field="cancelled-text"]'),
          /merchant cancelled.*the order was changed/);
        await snap(phone, 'cancelled');
        assert.deepEqual(phone.problems, []);
      } catch (e) {
        await failureShot(phone, 'merchant-cancels', e);
      } finally {
        await phone.context.close();
      }
    });

  await t.test('the payer cancels on the merchant screen', async () => {
    const opened = await terminal.request({ type: 'open', reference: 'browser-order-3' });
    const phone = await newPhone(browser, { extraHTTPHeaders: { 'X-MSISDN': MSISDN } });
    try {
      await phone.page.goto(opened.link);
      await waitForState(phone, 'merchant');
      await phone.page.getByRole('button', { name: 'Cancel' }).click();
      await waitForState(phone, 'cancelled');
      assert.equal(await text(phone, '[data-field="cancelled-text"]'),
        'You cancelled this payment.');
      await snap(phone, 'cancelled-by-payer');
      const cancelled = await terminal.event('cancelled', opened.txn);
      assert.equal(cancelled.by, 'payer');
      assert.deepEqual(phone.problems, []);
    } catch (e) {
      await failureShot(phone, 'payer-cancels', e);
    } finally {
      await phone.context.close();
    }
  });

  await t.test('an expired transaction shows its screen', async () => {
    const opened = await terminal.request({ type: 'open', reference: 'browser-order-4',
      ttl_s: 2 });
    const phone = await newPhone(browser, { extraHTTPHeaders: { 'X-MSISDN': MSISDN } });
    try {
      await phone.page.goto(opened.link);
      await waitForState(phone, 'merchant');
      await terminal.event('expired', opened.txn);
      await waitForState(phone, 'expired');
      await snap(phone, 'expired');
      assert.deepEqual(phone.problems, []);
    } catch (e) {
      await failureShot(phone, 'expired', e);
    } finally {
      await phone.context.close();
    }
  });

  await t.test('a browser without a number is refused with payer_unidentified', async () => {
    const opened = await terminal.request({ type: 'open', reference: 'browser-order-5' });
    const phone = await newPhone(browser);
    try {
      await phone.page.goto(opened.link);
      await waitForState(phone, 'error');
      assert.equal(await phone.page.getAttribute('body', 'data-error-code'), 'payer_unidentified');
      assert.equal(await text(phone, '[data-field="error-title"]'),
        'We could not tell who you are');
      await snap(phone, 'error');
      await terminal.request({ type: 'cancel', txn: opened.txn });
    } catch (e) {
      await failureShot(phone, 'unidentified', e);
    } finally {
      await phone.context.close();
    }
  });

  await t.test('the merchant changes the amount: the page shows and pays the new one',
    async () => {
      const opened = await terminal.request({ type: 'open', reference: 'browser-order-6',
        amount: 2500, currency: 'KES' });
      const phone = await newPhone(browser, { extraHTTPHeaders: { 'X-MSISDN': MSISDN } });
      try {
        await phone.page.goto(opened.link);
        await waitForState(phone, 'merchant');
        // Known at open: the merchant screen says how much, then the amount
        // follows the confirmation without the merchant sending it again.
        assert.equal(await text(phone, '[data-field="merchant-amount"]'), '25.00 KES');
        await phone.page.getByRole('button', { name: 'Confirm merchant' }).click();
        await terminal.event('synchronized', opened.txn);
        await waitForState(phone, 'amount');
        assert.equal(await text(phone, '[data-screen="amount"] [data-field="amount-display"]'),
          '25.00 KES');
        await terminal.request({ type: 'amount', txn: opened.txn, amount: 3000, currency: 'KES' });
        await phone.page.waitForSelector('[data-field="amount-notice"]:not([hidden])',
          { timeout: WAIT_MS });
        assert.equal(await text(phone, '[data-screen="amount"] [data-field="amount-display"]'),
          '30.00 KES');
        await snap(phone, 'amount-changed');
        await phone.page.getByRole('button', { name: 'Pay' }).click();
        const settled = await terminal.event('settled', opened.txn);
        assert.equal(settled.amount, 3000);
        await waitForState(phone, 'receipt');
        assert.equal(await text(phone, '[data-field="receipt-amount"]'), '30.00 KES');
        assert.deepEqual(phone.problems, []);
      } catch (e) {
        await failureShot(phone, 'amount-changed', e);
      } finally {
        await phone.context.close();
      }
    });

  // Last: it stops the switch.
  await t.test('the socket closing shows the disconnected screen', async () => {
    const opened = await terminal.request({ type: 'open', reference: 'browser-order-7' });
    const phone = await newPhone(browser, { extraHTTPHeaders: { 'X-MSISDN': MSISDN } });
    try {
      await phone.page.goto(opened.link);
      await waitForState(phone, 'merchant');
      await paysync.stop();
      await waitForState(phone, 'disconnected');
      assert.match(await text(phone, '[data-field="disconnected-text"]'),
        /before you confirmed the merchant/);
      await snap(phone, 'disconnected');
    } catch (e) {
      await failureShot(phone, 'disconnected', e);
    } finally {
      await phone.context.close();
    }
  });

  await t.test('every page state reached has its screenshot', () => {
    for (const state of reached) {
      assert.ok(PAGE_STATES.includes(state), `unknown page state "${state}"`);
      assert.ok(screenshots.has(`${state}.png`), `no screenshot of the "${state}" state`);
    }
    console.log(`# states reached: ${[...reached].join(', ')}`);
    console.log(`# screenshots: ${[...screenshots].sort().join(', ')}`);
  });
});
