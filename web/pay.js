// paysync link page: pays one transaction over the terminal protocol
// (docs/protocol.md, sections 6 and 7) as a handset does. Plain JavaScript, no
// framework, no inline handlers: the page runs under
// Content-Security-Policy: default-src 'self'.
//
// Every screen is a <section data-screen="..."> and <body data-state="...">
// names the one shown: connecting, merchant, waiting-amount, amount, paying,
// receipt, cancelled, expired, failed, error, disconnected.
'use strict';

(function () {
  // Link tokens: "lk", node and shard (4 hex digits), 26 Crockford base32 characters.
  const TOKEN_PATTERN = /^lk[0-9a-f]{4}[0-9a-hjkmnp-tv-z]{26}$/;
  const MERCHANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
  const CONNECT_TIMEOUT_MS = 15000;
  // Screens after which nothing more can happen on this page.
  const FINAL = new Set(['receipt', 'cancelled', 'expired', 'failed', 'error', 'disconnected']);

  const ERROR_TEXT = {
    payer_unidentified: ['We could not tell who you are',
      'Your mobile network did not pass on your number. Open the link over mobile data rather than Wi-Fi, then try again.'],
    payer_unregistered: ['This number is not registered',
      'The phone number you are using has no paysync account.'],
    payer_blocked: ['Your account cannot pay right now',
      'Your paysync account is blocked or suspended. Contact paysync support.'],
    unknown_txn: ['This payment link is not valid',
      'No open payment matches this link. Check the link, or ask the merchant for a new one.'],
    txn_taken: ['Someone else is paying this request',
      'Another phone has opened this payment. If that was not you, ask the merchant for a new link.'],
    txn_closed: ['This payment request is closed',
      'It was already paid, cancelled or failed. Ask the merchant if you are unsure.'],
    txn_expired: ['This payment request has expired',
      'The time to pay ran out. Ask the merchant for a new link.'],
    wrong_state: ['That step is not possible now',
      'The payment has moved on. Reload the page to see where it stands.'],
    already_joined: ['Another payment is in progress',
      'Finish or cancel the other payment first.'],
    too_many_attempts: ['Too many attempts',
      'Too many links or codes that did not match. Wait a minute, then try again.'],
    currency_mismatch: ['Your wallet is in another currency',
      'This merchant is paid in a currency your wallet does not hold.'],
    invalid_amount: ['The amount is not valid', 'Ask the merchant to send the amount again.'],
    amount_mismatch: ['The amount changed', 'The merchant changed the amount. Check the new amount.'],
    insufficient_funds: ['Not enough funds', 'Your balance is lower than the amount.'],
    velocity_limit: ['Payment limit reached',
      'You have reached the number or total of payments allowed for now.'],
    busy: ['The payment switch is busy', 'Nothing was charged. Try again in a moment.'],
    internal: ['The payment switch had a problem', 'Nothing was charged. Try again in a moment.'],
    link_invalid: ['This payment link is incomplete',
      'Part of the link is missing or wrong. Open the whole link the merchant sent you.'],
    link_mismatch: ['This link does not match its merchant',
      'The link names one merchant but the payment belongs to another. Do not pay; ask the merchant for a new link.'],
    protocol: ['This page and the payment switch do not understand each other',
      'Reload the page. If it happens again, pay with the till and code instead.'],
  };
  const PROTOCOL_CODES = new Set(['bad_json', 'bad_message', 'unknown_type', 'frame_too_large',
    'binary_not_allowed']);
  const RETRYABLE = new Set(['busy', 'internal', 'too_many_attempts', 'payer_unidentified',
    'already_joined', 'protocol']);

  const FAILED_TEXT = {
    insufficient_funds: 'Your balance is lower than the amount.',
    velocity_limit: 'You have reached the number or total of payments allowed for now.',
    payer_blocked: 'Your account is blocked or suspended.',
    currency_mismatch: 'Your wallet is in another currency than the merchant.',
    internal: 'The payment switch could not record the payment.',
  };

  const page = {
    state: 'connecting',
    link: null,        // {merchant, token, base}
    socket: null,
    txn: '',
    merchant: null,    // {id, name, till, city, ...}
    offer: null,       // {amount, currency, display} as shown on the amount screen
    nextRef: 1,
    sent: new Map(),   // ref -> request type
    connectTimer: 0,
  };

  // --- the DOM ---------------------------------------------------------------

  function setField(name, text) {
    for (const el of document.querySelectorAll('[data-field="' + name + '"]')) {
      el.textContent = text;
    }
  }

  function showRow(name, visible) {
    for (const el of document.querySelectorAll('[data-row="' + name + '"]')) el.hidden = !visible;
  }

  function show(state) {
    page.state = state;
    document.body.dataset.state = state;
    let heading = null;
    for (const section of document.querySelectorAll('section[data-screen]')) {
      const active = section.dataset.screen === state;
      section.hidden = !active;
      if (active) {
        for (const button of section.querySelectorAll('button')) button.disabled = false;
        heading = section.querySelector('h1');
      }
    }
    if (heading) {
      document.getElementById('announce').textContent = heading.textContent.trim();
      heading.focus({ preventScroll: false });
    }
    if (FINAL.has(state)) finish();
  }

  function disableButtons() {
    for (const button of document.querySelectorAll('section:not([hidden]) button')) {
      button.disabled = true;
    }
  }

  function formatTime(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return iso;
    return when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  }

  // "1,250.50 KES", as the switch formats `display`; only for the merchant
  // screen, when the merchant gave the amount at open.
  function formatMinor(amount, currency) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency: currency })
        .resolvedOptions().maximumFractionDigits;
    } catch (e) {
      digits = 2;
    }
    const negative = amount < 0;
    const text = String(Math.abs(amount)).padStart(digits + 1, '0');
    const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const fraction = digits > 0 ? '.' + text.slice(text.length - digits) : '';
    return (negative ? '-' : '') + whole + fraction + ' ' + currency;
  }

  // --- outcomes --------------------------------------------------------------

  function showError(code, message) {
    const key = PROTOCOL_CODES.has(code) ? 'protocol' : code;
    const [title, text] = ERROR_TEXT[key] || ['Something went wrong',
      'The payment switch refused the request.'];
    setField('error-title', title);
    setField('error-text', text);
    setField('error-message', message || '');
    setField('error-code', code ? '(' + code + ')' : '');
    document.body.dataset.errorCode = code || '';
    showRow('error-retry', RETRYABLE.has(key));
    show('error');
  }

  function showDisconnected() {
    const before = page.state;
    let text;
    if (before === 'connecting') {
      text = 'Could not reach the payment switch. Check your connection and try again.';
    } else if (before === 'merchant') {
      text = 'The connection dropped before you confirmed the merchant. Reconnect to go on.';
    } else if (before === 'paying') {
      text = 'The connection dropped while the payment was being recorded. It may have gone ' +
        'through: ask the merchant before you pay again.';
    } else {
      text = 'The connection dropped after you confirmed the merchant, so the payment was ' +
        'cancelled. Nothing was charged. Ask the merchant for a new link.';
    }
    setField('disconnected-text', text);
    show('disconnected');
  }

  // The page has reached a final screen: stop listening and let the socket go.
  function finish() {
    clearTimeout(page.connectTimer);
    const socket = page.socket;
    page.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
  }

  // --- the protocol ----------------------------------------------------------

  function send(type, fields) {
    if (!page.socket || page.socket.readyState !== WebSocket.OPEN) {
      showDisconnected();
      return '';
    }
    const ref = String(page.nextRef++);
    page.sent.set(ref, type);
    page.socket.send(JSON.stringify(Object.assign({ type: type, ref: ref }, fields)));
    return ref;
  }

  function onMerchant(msg) {
    if (page.state !== 'connecting') return;
    clearTimeout(page.connectTimer);
    const merchant = msg.merchant || {};
    if (merchant.id !== page.link.merchant) {
      // A link that names one merchant but carries another's token: the page
      // leaves without confirming, which frees the transaction again.
      showError('link_mismatch', 'The link names "' + page.link.merchant +
        '" but the payment is for "' + (merchant.id || '?') + '".');
      return;
    }
    page.txn = msg.txn;
    page.merchant = merchant;
    setField('merchant-name', merchant.name || merchant.id);
    setField('merchant-city', merchant.city || '—');
    setField('merchant-till', merchant.till || '—');
    const known = Number.isInteger(msg.amount) && typeof msg.currency === 'string';
    if (known) setField('merchant-amount', formatMinor(msg.amount, msg.currency));
    showRow('merchant-amount', known);
    const expires = document.querySelector('time[data-field="expires"]');
    if (msg.expires_at) {
      expires.dateTime = msg.expires_at;
      expires.textContent = new Date(msg.expires_at).toLocaleTimeString();
    }
    show('merchant');
  }

  function onAmount(msg) {
    if (msg.txn !== page.txn || FINAL.has(page.state) || page.state === 'merchant') return;
    if (!Number.isInteger(msg.amount) || typeof msg.currency !== 'string') {
      showError('protocol', 'The amount the switch sent is not an integer amount and currency.');
      return;
    }
    const previous = page.offer;
    page.offer = {
      amount: msg.amount,
      currency: msg.currency,
      display: msg.display || formatMinor(msg.amount, msg.currency),
    };
    setField('amount-display', page.offer.display);
    const changed = previous &&
      (previous.amount !== page.offer.amount || previous.currency !== page.offer.currency);
    setField('amount-notice', changed
      ? 'The merchant changed the amount from ' + previous.display + '. Check it again.' : '');
    document.querySelector('[data-field="amount-notice"]').hidden = !changed;
    show('amount');
  }

  function onReceipt(msg) {
    if (msg.txn !== page.txn) return;
    const merchant = msg.merchant || {};
    setField('receipt-merchant', merchant.name || merchant.id || '');
    setField('receipt-amount', msg.display || formatMinor(msg.amount, msg.currency));
    const time = document.querySelector('time[data-field="receipt-time"]');
    time.dateTime = msg.settled_at || '';
    time.textContent = formatTime(msg.settled_at || '');
    setField('receipt-sequence', String(msg.sequence));
    setField('receipt-txn', msg.txn);
    setField('receipt-payer', msg.payer_name || '');
    showRow('receipt-payer', Boolean(msg.payer_name));
    show('receipt');
  }

  function onCancelled(msg) {
    if (msg.txn !== page.txn) return;
    let text;
    if (msg.by === 'payer') {
      text = 'You cancelled this payment.';
    } else if (msg.by === 'merchant') {
      text = 'The merchant cancelled this payment' + (msg.reason ? ': ' + msg.reason : '.');
    } else {
      text = 'The payment switch cancelled this payment' + (msg.reason ? ': ' + msg.reason : '.');
    }
    setField('cancelled-text', text);
    show('cancelled');
  }

  function onFailed(msg) {
    if (msg.txn !== page.txn) return;
    setField('failed-text', FAILED_TEXT[msg.code] || 'The payment was refused.');
    setField('failed-message', msg.message || '');
    document.body.dataset.errorCode = msg.code || '';
    show('failed');
  }

  function onError(msg) {
    const request = page.sent.get(String(msg.ref));
    if (request === 'confirm_amount' &&
        (msg.code === 'amount_mismatch' || msg.code === 'wrong_state')) {
      // The merchant changed the amount after this page showed it; the new
      // `amount` event comes (or came) separately. Ask again.
      const notice = document.querySelector('[data-field="amount-notice"]');
      notice.textContent = msg.message || ERROR_TEXT.amount_mismatch[1];
      notice.hidden = false;
      show('amount');
      return;
    }
    if (msg.txn && page.txn && msg.txn !== page.txn) return;
    if (msg.code === 'txn_expired') {
      document.body.dataset.errorCode = msg.code;
      show('expired');
      return;
    }
    showError(msg.code, msg.message);
  }

  function onMessage(event) {
    if (typeof event.data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch (e) {
      return;  // not JSON: nothing to act on
    }
    if (!msg || typeof msg !== 'object' || FINAL.has(page.state)) return;
    switch (msg.type) {
      case 'merchant': return onMerchant(msg);
      case 'ack':
        if (msg.for === 'confirm_merchant' && msg.txn === page.txn &&
            page.state === 'merchant-confirming') {
          show('waiting-amount');
        }
        return;
      case 'amount': return onAmount(msg);
      case 'receipt': return onReceipt(msg);
      case 'failed': return onFailed(msg);
      case 'cancelled': return onCancelled(msg);
      case 'expired':
        if (msg.txn === page.txn) show('expired');
        return;
      case 'error': return onError(msg);
      default: return;  // events of other flows, pong: not for this page
    }
  }

  function onClose() {
    if (page.socket === null || FINAL.has(page.state)) return;
    page.socket = null;
    showDisconnected();
  }

  // --- buttons -----------------------------------------------------------------

  const ACTIONS = {
    'confirm-merchant': function () {
      disableButtons();
      page.state = 'merchant-confirming';  // the screen stays until the ack
      send('confirm_merchant', { txn: page.txn });
    },
    'pay': function () {
      if (!page.offer) return;
      disableButtons();
      // Exactly the amount and currency this page showed.
      send('confirm_amount',
        { txn: page.txn, amount: page.offer.amount, currency: page.offer.currency });
      show('paying');
    },
    'cancel': function () {
      disableButtons();
      send('cancel', { txn: page.txn, reason: 'the payer declined on the link page' });
    },
    'reload': function () {
      window.location.reload();
    },
  };

  // --- start -------------------------------------------------------------------

  function parseLink(pathname) {
    const match = /^(.*)\/pay\/([^/]+)\/([^/]+)$/.exec(pathname);
    if (!match) return null;
    let merchant;
    let token;
    try {
      merchant = decodeURIComponent(match[2]);
      token = decodeURIComponent(match[3]);
    } catch (e) {
      return null;
    }
    if (!MERCHANT_PATTERN.test(merchant) || !TOKEN_PATTERN.test(token)) return null;
    return { base: match[1], merchant: merchant, token: token };
  }

  function start() {
    document.addEventListener('click', function (event) {
      const button = event.target.closest('button[data-action]');
      if (!button || button.disabled) return;
      const action = ACTIONS[button.dataset.action];
      if (action) action();
    });

    page.link = parseLink(window.location.pathname);
    if (!page.link) {
      showError('link_invalid', '');
      return;
    }
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket;
    try {
      socket = new WebSocket(scheme + '//' + window.location.host + page.link.base + '/ws');
    } catch (e) {
      showDisconnected();
      return;
    }
    page.socket = socket;
    socket.addEventListener('open', function () {
      send('join', { token: page.link.token });
    });
    socket.addEventListener('message', onMessage);
    socket.addEventListener('close', onClose);
    page.connectTimer = setTimeout(function () {
      if (page.state === 'connecting' && page.socket) {
        const s = page.socket;
        page.socket = null;
        s.close();
        showDisconnected();
      }
    }, CONNECT_TIMEOUT_MS);
    show('connecting');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
