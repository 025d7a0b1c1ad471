// paysync link page: pays one transaction over the terminal protocol
// (docs/protocol.md, sections 6, 7, 11 and 14) as a handset does. Plain
// JavaScript, no framework, no inline handlers: the page runs under
// Content-Security-Policy: default-src 'self'.
//
// Every screen is a <section data-screen="..."> and <body data-state="...">
// names the one shown: connecting, merchant, waiting-amount, catalogue, amount,
// paying, auth, receipt, cancelled, expired, failed, error, disconnected.
//
// Two links open it: /pay/<merchant>/<token> (flow A: `join` with the token)
// and /pay/till/<till> (flow B, the sticker at the till: `pay_merchant`).
//
// Answers to an auth_challenge (PINs, passwords, answers, photos) are sent
// and dropped at once: the field is cleared before the frame leaves, photo
// bytes are zeroed after the send, and nothing of them is ever logged.
'use strict';

(function () {
  // Link tokens: "lk", node and shard (4 hex digits), 26 Crockford base32 characters.
  const TOKEN_PATTERN = /^lk[0-9a-f]{4}[0-9a-hjkmnp-tv-z]{26}$/;
  const MERCHANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
  const CONNECT_TIMEOUT_MS = 15000;
  const MAX_NOTE_BYTES = 256;       // `order`'s note
  const MAX_ANSWER_BYTES = 256;     // `auth_answer`, when the challenge names no max_bytes
  const MAX_QTY = 999;              // an order line's quantity
  // A photo larger than the challenge allows (or not JPEG or PNG) is redrawn
  // as a JPEG: at most this many pixels a side, then smaller until it fits.
  const PHOTO_MAX_SIDE_PX = 1280;
  const PHOTO_JPEG_QUALITY = 0.88;
  const PHOTO_SHRINK_STEPS = 8;
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
    auth_locked: ['Too many wrong answers',
      'Every way you have of proving who you are is locked for a while after wrong answers. ' +
      'Nothing was charged. Try again later.'],
    auth_unavailable: ['This payment needs a check you have not set up',
      'The amount needs a stronger proof of who you are than your account has registered. ' +
      'Nothing was charged. Register a PIN, a question or your face with paysync, then try again.'],
    unknown_merchant: ['No merchant has this till number',
      'Check the number on the sticker at the till.'],
    merchant_inactive: ['This merchant cannot take payments',
      'The merchant\'s paysync account is suspended. Pay another way.'],
    merchant_offline: ['The merchant\'s till is not connected',
      'The merchant cannot take paysync payments right now. Ask the merchant, then try again.'],
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
    'already_joined', 'protocol', 'merchant_offline']);

  const FAILED_TEXT = {
    insufficient_funds: 'Your balance is lower than the amount.',
    velocity_limit: 'You have reached the number or total of payments allowed for now.',
    payer_blocked: 'Your account is blocked or suspended.',
    currency_mismatch: 'Your wallet is in another currency than the merchant.',
    internal: 'The payment switch could not record the payment.',
    auth_failed: 'We could not confirm that it is you, so the payment was stopped.',
  };

  // What each factor of an auth_challenge asks the payer for.
  const FACTOR_TEXT = {
    pin: { title: 'Enter your PIN', text: 'This payment needs your paysync PIN.', label: 'PIN' },
    password: { title: 'Enter your password', text: 'This payment needs your paysync password.',
      label: 'Password' },
    question: { title: 'Answer your security question',
      text: 'This payment needs the answer to one of your security questions.',
      label: 'Your answer' },
    face: { title: 'Take a photo of your face',
      text: 'This payment needs a photo of your face. Hold the phone at eye level, look at ' +
        'the camera, in good light.', label: 'Photo of your face', capture: 'user' },
    iris: { title: 'Take a photo of your eye',
      text: 'This payment needs a close, sharp photo of one of your eyes, in good light.',
      label: 'Photo of your eye', capture: 'user' },
    fingerprint: { title: 'Take a photo of your fingerprint',
      text: 'This payment needs a close, sharp photo of the fingertip you registered.',
      label: 'Photo of your fingertip', capture: 'environment' },
    voice: { title: 'A voice sample is needed',
      text: 'This payment needs a recording of your voice.', label: '' },
  };
  // Why a sample was refused (auth_sample_refused names it), in words.
  const REFUSAL_TEXT = {
    no_face: 'No face was found in the photo. Look straight at the camera, in good light.',
    iris_not_segmented: 'The eye was not clear enough. Take a closer, sharper photo.',
    too_few_minutiae: 'The fingerprint was not clear enough. Take a closer, sharper photo.',
    low_quality: 'The photo was not clear enough. Take a sharper one, in good light.',
    too_small: 'The photo is too small. Take a closer one.',
    too_large: 'The photo is too large. Take another one.',
    undecodable: 'The photo could not be read. Take another one.',
    unsupported_format: 'The photo is in a format the switch cannot read. Take another one.',
  };

  const page = {
    state: 'connecting',
    link: null,        // {base, merchant, token} (flow A) or {base, till} (flow B)
    socket: null,
    txn: '',
    merchant: null,    // {id, name, till, city, ...}
    offer: null,       // {amount, currency, display} as shown on the amount screen
    catalogue: null,   // {currency, items: [{sku, name, price, max_qty, display, qty}]}
    order: '',         // what the last order sent asked for, in words
    auth: null,        // the pending auth_challenge: {factor, answer_as, max_bytes, ...}
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
    const negative = amount < 0;  // a Number or, for catalogue totals, a BigInt
    const text = String(negative ? -amount : amount).padStart(digits + 1, '0');
    const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const fraction = digits > 0 ? '.' + text.slice(text.length - digits) : '';
    return (negative ? '-' : '') + whole + fraction + ' ' + currency;
  }

  function utf8Bytes(text) {
    return new TextEncoder().encode(text).length;
  }

  function setNotice(name, text) {
    const el = document.querySelector('[data-field="' + name + '"]');
    el.textContent = text || '';
    el.hidden = !text;
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
    } else if (before === 'auth') {
      text = 'The connection dropped while the payment was waiting for you to prove who you ' +
        'are, so the payment was cancelled. Nothing was charged. Ask the merchant for a new link.';
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
    page.auth = null;
    clearAnswerInputs();
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

  // A biometric sample: one binary frame, no ref (section 14). The socket
  // copies the bytes when it queues the frame, so the caller may wipe them.
  function sendBinary(bytes) {
    if (!page.socket || page.socket.readyState !== WebSocket.OPEN) {
      showDisconnected();
      return false;
    }
    page.socket.send(bytes);
    return true;
  }

  function onMerchant(msg) {
    if (page.state !== 'connecting') return;
    clearTimeout(page.connectTimer);
    const merchant = msg.merchant || {};
    if (page.link.till !== undefined ? merchant.till !== page.link.till
      : merchant.id !== page.link.merchant) {
      // A link that names one merchant but carries another's token: the page
      // leaves without confirming, which frees the transaction again.
      const named = page.link.till !== undefined ? 'till ' + page.link.till : page.link.merchant;
      const got = page.link.till !== undefined ? 'till ' + (merchant.till || '?')
        : (merchant.id || '?');
      showError('link_mismatch', 'The link names "' + named + '" but the payment is for "' +
        got + '".');
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
    const changed = previous &&
      (previous.amount !== page.offer.amount || previous.currency !== page.offer.currency);
    setNotice('amount-notice', changed
      ? 'The merchant changed the amount from ' + previous.display + '. Check it again.' : '');
    showRow('amount-order', Boolean(page.order));
    if (page.state === 'auth') {
      // The challenge stays (section 14): the confirmation it guards names the
      // old amount, so once it is answered the switch refuses that with
      // amount_mismatch and this page asks for the new amount.
      setNotice('auth-notice', 'The merchant changed the amount to ' + page.offer.display +
        '. After this check you will be asked to confirm the new amount.');
      return;
    }
    setField('amount-display', page.offer.display);
    show('amount');
  }

  // --- catalogue and order (claims 15, 24, 28) ----------------------------------

  function onCatalogue(msg) {
    if (msg.txn !== page.txn || !['merchant-confirming', 'waiting-amount', 'catalogue',
      'ordering', 'amount'].includes(page.state)) {
      return;  // before the merchant is confirmed, or once the payer confirmed the amount
    }
    if (!Array.isArray(msg.items) || msg.items.length === 0 || typeof msg.currency !== 'string') {
      showError('protocol', 'The catalogue the switch sent has no items or no currency.');
      return;
    }
    const before = new Map();
    if (page.catalogue) for (const item of page.catalogue.items) before.set(item.sku, item.qty);
    const items = [];
    for (const item of msg.items) {
      if (!item || typeof item.sku !== 'string' || typeof item.name !== 'string' ||
          !Number.isInteger(item.price) || item.price < 0) {
        showError('protocol', 'An item of the catalogue has no sku, name or integer price.');
        return;
      }
      const maxQty = Number.isInteger(item.max_qty) ? Math.min(Math.max(item.max_qty, 1), MAX_QTY)
        : MAX_QTY;
      items.push({
        sku: item.sku,
        name: item.name,
        price: item.price,
        max_qty: maxQty,
        display: typeof item.display === 'string' ? item.display
          : formatMinor(item.price, msg.currency),
        // A new catalogue replaces the old; what the payer already chose of an
        // item still on offer is kept, within its new limit.
        qty: Math.min(before.get(item.sku) || 0, maxQty),
      });
    }
    const replaced = page.catalogue !== null;
    page.catalogue = { currency: msg.currency, items: items };
    renderCatalogue();
    setNotice('catalogue-notice', replaced
      ? 'The merchant updated the list. Check your choice again.' : '');
    show('catalogue');
    updateCatalogue();
  }

  function renderCatalogue() {
    const list = document.querySelector('[data-list="catalogue"]');
    list.replaceChildren();
    for (const item of page.catalogue.items) {
      const row = document.createElement('li');
      row.className = 'item';
      row.dataset.sku = item.sku;
      const label = document.createElement('div');
      label.className = 'item-label';
      const name = document.createElement('span');
      name.className = 'item-name';
      name.textContent = item.name;
      const price = document.createElement('span');
      price.className = 'item-price';
      price.textContent = item.display + (item.max_qty < MAX_QTY ? ' · at most ' + item.max_qty
        : '');
      label.append(name, price);
      const stepper = document.createElement('div');
      stepper.className = 'stepper';
      stepper.setAttribute('role', 'group');
      stepper.setAttribute('aria-label', 'How many ' + item.name);
      const less = document.createElement('button');
      less.type = 'button';
      less.className = 'step';
      less.dataset.action = 'qty-down';
      less.setAttribute('aria-label', 'One less ' + item.name);
      less.textContent = '−';
      const qty = document.createElement('output');
      qty.className = 'qty';
      qty.setAttribute('aria-live', 'polite');
      qty.setAttribute('aria-label', item.name + ' quantity');
      const more = document.createElement('button');
      more.type = 'button';
      more.className = 'step';
      more.dataset.action = 'qty-up';
      more.setAttribute('aria-label', 'One more ' + item.name);
      more.textContent = '+';
      stepper.append(less, qty, more);
      row.append(label, stepper);
      list.append(row);
      item.row = { less: less, qty: qty, more: more };
    }
  }

  // Quantities, steppers within 0..max_qty, and a total that is only shown:
  // the merchant computes the amount to pay from the order.
  function updateCatalogue() {
    if (!page.catalogue) return;
    let total = 0n;
    let lines = 0;
    const busy = page.state !== 'catalogue';
    for (const item of page.catalogue.items) {
      item.row.qty.textContent = String(item.qty);
      item.row.less.disabled = busy || item.qty <= 0;
      item.row.more.disabled = busy || item.qty >= item.max_qty;
      total += BigInt(item.price) * BigInt(item.qty);
      if (item.qty > 0) lines += 1;
    }
    setField('catalogue-total', formatMinor(total, page.catalogue.currency));
    document.querySelector('[data-action="send-order"]').disabled = busy || lines === 0;
  }

  function changeQuantity(button, delta) {
    const row = button.closest('li[data-sku]');
    if (!row || !page.catalogue || page.state !== 'catalogue') return;
    const item = page.catalogue.items.find((i) => i.sku === row.dataset.sku);
    if (!item) return;
    item.qty = Math.min(Math.max(item.qty + delta, 0), item.max_qty);
    updateCatalogue();
  }

  function sendOrder() {
    if (!page.catalogue || page.state !== 'catalogue') return;
    const chosen = page.catalogue.items.filter((i) => i.qty > 0);
    if (chosen.length === 0) return;
    const noteInput = document.getElementById('order-note');
    const note = noteInput.value.trim();
    if (utf8Bytes(note) > MAX_NOTE_BYTES) {
      setNotice('catalogue-notice', 'The note is too long: at most ' + MAX_NOTE_BYTES +
        ' bytes.');
      return;
    }
    const fields = { txn: page.txn, lines: chosen.map((i) => ({ sku: i.sku, qty: i.qty })) };
    if (note) fields.note = note;
    page.order = chosen.map((i) => i.qty + ' × ' + i.name).join(', ');
    setField('order-summary', page.order);
    disableButtons();
    page.state = 'ordering';  // the screen stays until the ack
    updateCatalogue();
    send('order', fields);
  }

  function onOrdered() {
    showRow('waiting-ready', false);
    showRow('waiting-order', true);
    show('waiting-amount');
  }

  // --- authentication (section 14, claims 16-19) ---------------------------------

  function clearAnswerInputs() {
    document.getElementById('auth-answer').value = '';
    document.getElementById('auth-photo').value = '';
  }

  function setChecking(checking, what) {
    page.auth.checking = checking;
    showRow('auth-checking', checking);
    if (what) setField('auth-checking', what);
    for (const form of document.querySelectorAll('[data-screen="auth"] form')) {
      for (const control of form.elements) control.disabled = checking;
    }
  }

  function onAuthChallenge(msg) {
    if (msg.txn !== page.txn || (page.state !== 'paying' && page.state !== 'auth')) return;
    const answerAs = msg.answer_as;
    if (answerAs !== 'text' && answerAs !== 'image' && answerAs !== 'audio') {
      showError('protocol', 'The switch asked for an answer as "' + answerAs + '".');
      return;
    }
    const first = page.state === 'paying';
    page.auth = {
      factor: String(msg.factor || ''),
      answer_as: answerAs,
      max_bytes: Number.isInteger(msg.max_bytes) && msg.max_bytes > 0 ? msg.max_bytes
        : MAX_ANSWER_BYTES,
      formats: Array.isArray(msg.formats) ? msg.formats : [],
      checking: false,
    };
    const words = FACTOR_TEXT[page.auth.factor] || {
      title: 'Confirm it is you', text: 'This payment needs you to prove who you are.',
      label: answerAs === 'text' ? 'Your answer' : 'Photo',
    };
    setField('auth-title', words.title);
    setField('auth-text', words.text);
    if (first) setNotice('auth-notice', '');
    setField('amount-display', page.offer ? page.offer.display : '');

    showRow('auth-text', answerAs === 'text');
    showRow('auth-image', answerAs === 'image');
    showRow('auth-audio', answerAs === 'audio');
    const input = document.getElementById('auth-answer');
    const photo = document.getElementById('auth-photo');
    clearAnswerInputs();
    if (answerAs === 'text') {
      const question = page.auth.factor === 'question' && typeof msg.question === 'string';
      setField('auth-label', question ? msg.question : words.label);
      // PINs: the numeric keypad, masked; passwords masked; questions plain.
      input.type = page.auth.factor === 'question' ? 'text' : 'password';
      if (page.auth.factor === 'pin') {
        input.inputMode = 'numeric';
        input.setAttribute('pattern', '[0-9]*');
      } else {
        input.inputMode = 'text';
        input.removeAttribute('pattern');
      }
    } else if (answerAs === 'image') {
      setField('auth-photo-label', words.label);
      photo.setAttribute('capture', words.capture || 'user');
    }
    const left = msg.attempts_left;
    setField('auth-attempts', answerAs === 'audio' || !Number.isInteger(left) ? ''
      : left + (left === 1 ? ' attempt' : ' attempts') + ' left.');
    show('auth');
    setChecking(false);
    if (answerAs === 'text') input.focus();
  }

  function sendAnswer() {
    if (page.state !== 'auth' || !page.auth || page.auth.checking) return;
    const input = document.getElementById('auth-answer');
    // The answer lives only in this function: the field is emptied before
    // the frame goes, and it is never logged.
    let answer = input.value;
    input.value = '';
    const problem = answer.trim() === '' ? 'Type your answer first.'
      : page.auth.factor === 'pin' && !/^[0-9]+$/.test(answer) ? 'A PIN has digits only.'
        : utf8Bytes(answer) > Math.min(page.auth.max_bytes, MAX_ANSWER_BYTES)
          ? 'That answer is too long.' : '';
    if (problem) {
      answer = '';
      setNotice('auth-notice', problem);
      input.focus();
      return;
    }
    setNotice('auth-notice', '');
    setChecking(true, 'Checking your answer…');
    send('auth_answer', { txn: page.txn, answer: answer });
    answer = '';
  }

  function isJpeg(head) {
    return head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  }

  function isPng(head) {
    const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    return head.length >= 8 && signature.every((b, i) => head[i] === b);
  }

  // The photo's bytes as the switch takes them: the file itself when it is a
  // JPEG or PNG within max_bytes, else redrawn as a JPEG (or PNG) small
  // enough. Resolves to a Uint8Array, or rejects with words for the payer.
  async function photoBytes(file, maxBytes, formats) {
    const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
    const kind = isJpeg(head) ? 'jpeg' : isPng(head) ? 'png' : '';
    if (kind && formats.includes(kind) && file.size <= maxBytes) {
      return new Uint8Array(await file.arrayBuffer());
    }
    const type = formats.includes('jpeg') ? 'image/jpeg' : formats.includes('png') ? 'image/png'
      : '';
    if (!type) throw new Error('The switch takes no image format this page can send.');
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);  // applies the photo's EXIF orientation
    } catch (e) {
      throw new Error('That file is not a photo this phone can read. Take another one.');
    }
    const canvas = document.createElement('canvas');
    try {
      let scale = Math.min(1, PHOTO_MAX_SIDE_PX / Math.max(bitmap.width, bitmap.height));
      for (let step = 0; step < PHOTO_SHRINK_STEPS; step += 1) {
        canvas.width = Math.max(1, Math.round(bitmap.width * scale));
        canvas.height = Math.max(1, Math.round(bitmap.height * scale));
        canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        const blob = await new Promise((resolve) =>
          canvas.toBlob(resolve, type, PHOTO_JPEG_QUALITY));
        if (blob && blob.size <= maxBytes) return new Uint8Array(await blob.arrayBuffer());
        scale *= 0.75;
      }
    } finally {
      bitmap.close();
      canvas.width = 0;
      canvas.height = 0;
    }
    throw new Error('The photo is too large to send. Take another one.');
  }

  async function sendPhoto() {
    if (page.state !== 'auth' || !page.auth || page.auth.checking) return;
    const input = document.getElementById('auth-photo');
    const file = input.files && input.files[0];
    if (!file) {
      setNotice('auth-notice', 'Take or choose a photo first.');
      return;
    }
    const auth = page.auth;
    setNotice('auth-notice', '');
    setChecking(true, 'Preparing the photo…');
    let bytes;
    try {
      bytes = await photoBytes(file, auth.max_bytes, auth.formats);
    } catch (e) {
      input.value = '';
      if (page.auth !== auth || page.state !== 'auth') return;
      setChecking(false);
      setNotice('auth-notice', e.message);
      return;
    }
    input.value = '';
    if (page.auth !== auth || page.state !== 'auth') {
      bytes.fill(0);
      return;  // the challenge ended while the photo was read
    }
    setChecking(true, 'Checking your photo…');
    sendBinary(bytes);
    bytes.fill(0);
  }

  // An answer or sample that did not get through; the challenge stays.
  function onAuthRefused(msg) {
    if (msg.code === 'auth_mismatch') {
      // A fresh auth_challenge follows with the attempts left.
      setNotice('auth-notice', page.auth.answer_as === 'image'
        ? 'That photo did not match. Try again.' : 'That did not match. Try again.');
      setChecking(false);
      return;
    }
    let text;
    if (msg.code === 'auth_sample_refused') {
      const reason = Object.keys(REFUSAL_TEXT).find((r) => (msg.message || '').includes(r));
      text = 'The photo could not be used. ' + (reason ? REFUSAL_TEXT[reason]
        : 'Take another one.') + ' This did not count as an attempt.';
    } else if (msg.code === 'frame_too_large') {
      text = 'The photo is too large to send. Take another one.';
    } else {
      text = 'The payment switch is busy. Nothing was counted; send your ' +
        (page.auth.answer_as === 'image' ? 'photo' : 'answer') + ' again.';
    }
    setNotice('auth-notice', text);
    setChecking(false);
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

  const AUTH_RETRY = new Set(['auth_mismatch', 'auth_sample_refused', 'busy', 'frame_too_large']);

  function onError(msg) {
    const request = page.sent.get(String(msg.ref));
    if (page.state === 'auth' && page.auth && AUTH_RETRY.has(msg.code) &&
        (request === 'auth_answer' || (msg.ref === undefined && msg.txn === page.txn))) {
      onAuthRefused(msg);
      return;
    }
    if (request === 'confirm_amount' &&
        (msg.code === 'amount_mismatch' || msg.code === 'wrong_state')) {
      // The merchant changed the amount after this page showed it; the new
      // `amount` event comes (or came) separately. Ask again.
      setNotice('amount-notice', msg.message || ERROR_TEXT.amount_mismatch[1]);
      if (page.offer) setField('amount-display', page.offer.display);
      page.auth = null;
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
        if (msg.txn !== page.txn) return;
        if (msg.for === 'confirm_merchant' && page.state === 'merchant-confirming') {
          show('waiting-amount');
        } else if (msg.for === 'order' && page.state === 'ordering') {
          onOrdered();
        } else if (msg.for === 'auth_answer' && page.state === 'auth') {
          // Proven; the receipt (or failed) answers the confirmation itself.
          page.auth = null;
          show('paying');
        }
        return;
      case 'amount': return onAmount(msg);
      case 'catalogue': return onCatalogue(msg);
      case 'auth_challenge': return onAuthChallenge(msg);
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
      setNotice('auth-notice', '');
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
    'qty-down': function (button) {
      changeQuantity(button, -1);
    },
    'qty-up': function (button) {
      changeQuantity(button, 1);
    },
    'send-order': function () {
      sendOrder();
    },
  };

  const FORMS = {
    'auth-text': sendAnswer,
    'auth-image': sendPhoto,
  };

  // --- start -------------------------------------------------------------------

  function parseLink(pathname) {
    // Flow B: the static code on the sticker at the till.
    const till = /^(.*)\/pay\/till\/([0-9]{1,16})$/.exec(pathname);
    if (till) return { base: till[1], till: till[2] };
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
      if (action) action(button);
    });
    document.addEventListener('submit', function (event) {
      event.preventDefault();  // nothing is ever posted: answers go over the socket
      const handler = FORMS[event.target.dataset.form];
      if (handler) handler();
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
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', function () {
      if (page.link.till !== undefined) {
        send('pay_merchant', { till: page.link.till });
      } else {
        send('join', { token: page.link.token });
      }
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
