// OtpVerification sample — signup page (ES module, no framework, no build step).
//
// Flow: signup form → POST signup/start → code step → POST signup/verify?useCookies=true
//       → GET api/me (cookie) → "Signed in as …". See shared CONTRACT.md for the HTTP API.
//
// Stable selectors (for end-to-end tests):
//   Step 1  #step-signup      section
//           #signup-form      form
//           #name #email #password #phone                     inputs
//           #channel-email #channel-sms                        radios (shown once a phone is typed)
//           #start-button                                      submit
//           #name-error #email-error #password-error #phone-error   per-field errors
//           #form-error                                        errors not tied to a field
//           #start-countdown                                   "You can try again in m:ss" after a 429
//   Step 2  #step-code        section
//           #code-form        form (data-code-length="6")
//           .otp-digit        one input per digit (aria-label "Digit N of L")
//           #verify-button    submit (the form also submits itself when the last digit is typed)
//           #resend-button    disabled while #resend-countdown runs
//           #resend-countdown "in m:ss"
//           #expiry-countdown "Code expires in m:ss"
//           #code-error       code errors
//           #change-email     back to step 1
//   Step 3  #signed-in        section
//           #signed-in-email  the email from GET api/me
//           #verified-badge   shown when emailVerified is true
//   Always  #status           aria-live="polite" status line
//
// The code length comes from data-code-length on #code-form (4 to 10), else DEFAULT_CODE_LENGTH;
// keep it equal to the server's OtpSignup:Code:Length.
// API paths are relative to the page (signup/start, api/me), so served at / they are /signup/start
// and the page still works under a path base.
// The page sends a per-browser deviceId (localStorage) with start and verify.
// User data is only ever written with textContent.
// The page's texts are in strings.js (English and Spanish, by navigator.language).
// WebOTP: where the browser offers it, the code of an SMS ending in "@host #123456" fills the boxes.

import { t, applyStaticStrings } from './strings.js';

const DEFAULT_CODE_LENGTH = 6;
const DEVICE_ID_KEY = 'otpSample.deviceId';

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------------------
// fetch helper: JSON in, JSON or problem+json out, never throws.
// Resolves to { ok, status, data } or { ok: false, status, problem } where
// problem.code is the contract's code (or 'network' / 'too_large' / 'unknown')
// and problem.retryAfter is a number of seconds or null.
// ---------------------------------------------------------------------------
async function api(path, body, method = 'POST') {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined
        ? { Accept: 'application/json' }
        : { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    return { ok: false, status: 0, problem: { code: 'network', retryAfter: null } };
  }

  let data = null;
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (response.ok) return { ok: true, status: response.status, data };

  const problem = data && typeof data === 'object' && !Array.isArray(data) ? { ...data } : {};
  if (typeof problem.code !== 'string') problem.code = fallbackCode(response.status);
  problem.retryAfter = seconds(problem.retryAfter) ?? parseRetryAfter(response.headers.get('Retry-After'));
  return { ok: false, status: response.status, problem };
}

function fallbackCode(status) {
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  return 'unknown';
}

function seconds(value) {
  const n = Number(value);
  return value !== null && value !== undefined && value !== '' && Number.isFinite(n) && n >= 0 ? Math.ceil(n) : null;
}

function parseRetryAfter(header) {
  if (!header) return null;
  const n = seconds(header.trim());
  if (n !== null) return n;
  const date = Date.parse(header); // Retry-After may also be an HTTP date
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

// ---------------------------------------------------------------------------
// countdown helper: calls onTick(secondsLeft) now and every ~¼ s until 0, then onDone().
// Based on a deadline, so throttled background tabs still show the right time.
// Returns a function that stops it.
// ---------------------------------------------------------------------------
function countdown(totalSeconds, onTick, onDone) {
  const deadline = Date.now() + totalSeconds * 1000;
  let last = -1;
  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    if (left !== last) { last = left; onTick(left); }
    if (left === 0) { clearInterval(timer); onDone?.(); }
  };
  const timer = setInterval(tick, 250);
  tick();
  return () => clearInterval(timer);
}

function formatDuration(totalSeconds) {
  const m = Math.floor(totalSeconds / 60);
  const s = totalSeconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------
// OTP input controller: one <input> per digit.
// Typing advances, Backspace goes back, arrows/Home/End move, a paste or an
// SMS autofill of the whole code into any box fills every box.
// ---------------------------------------------------------------------------
function createOtpInput(container, length, { onComplete }) {
  const inputs = [];
  container.replaceChildren();
  container.style.setProperty('--digits', String(length));

  for (let i = 0; i < length; i++) {
    const input = document.createElement('input');
    input.className = 'otp-digit';
    input.type = 'text';
    input.inputMode = 'numeric';
    input.pattern = '[0-9]*';
    input.autocomplete = i === 0 ? 'one-time-code' : 'off';
    input.setAttribute('aria-label', t('digitLabel', { n: i + 1, length }));
    input.setAttribute('aria-describedby', 'code-error');
    input.spellcheck = false;
    input.addEventListener('input', (e) => onInput(i, e));
    input.addEventListener('keydown', (e) => onKeyDown(i, e));
    input.addEventListener('paste', (e) => onPaste(i, e));
    input.addEventListener('focus', () => requestAnimationFrame(() => input.select()));
    container.append(input);
    inputs.push(input);
  }

  const value = () => inputs.map((input) => input.value).join('');
  const isComplete = () => inputs.every((input) => /^\d$/.test(input.value));
  const focusAt = (i) => inputs[Math.max(0, Math.min(length - 1, i))].focus();
  const firstEmpty = () => Math.max(0, inputs.findIndex((input) => input.value === ''));

  // Submits when the code becomes complete, or when the last box is typed or a whole code is
  // pasted/autofilled, but not while a middle digit of a complete code is being corrected.
  let wasComplete = false;
  function changed(force = false) {
    const complete = isComplete();
    if (complete && (force || !wasComplete)) onComplete(value());
    wasComplete = complete;
  }

  // Writes digits into the boxes from index `from` on, then focuses the next empty box.
  function fill(digits, from) {
    const chars = digits.slice(0, length - from).split('');
    chars.forEach((d, k) => { inputs[from + k].value = d; });
    const next = inputs.findIndex((input, k) => k >= from && input.value === '');
    focusAt(next === -1 ? Math.min(length - 1, from + chars.length) : next);
    changed(digits.length >= length);
  }

  // A whole code somewhere in pasted text ("Your code is 042137"), or just its digits.
  function extractCode(text) {
    const exact = text.match(new RegExp(`(?<!\\d)\\d{${length}}(?!\\d)`));
    return exact ? exact[0] : text.replace(/\D/g, '');
  }

  function onInput(i, e) {
    const input = inputs[i];
    if (e.inputType === 'insertText' && e.data && e.data.length === 1) {
      // Typed a single character: it replaces whatever was in the box.
      input.value = /\d/.test(e.data) ? e.data : input.value.replace(/\D/g, '').slice(0, 1);
      if (/\d/.test(e.data) && i < length - 1) focusAt(i + 1);
      changed(/\d/.test(e.data) && i === length - 1);
      return;
    }
    // Autofill (one-time-code), drag-and-drop, IME or anything else that put several characters here.
    const digits = extractCode(input.value);
    input.value = '';
    if (!digits) { changed(); return; }
    if (digits.length === 1) { input.value = digits; if (i < length - 1) focusAt(i + 1); changed(); return; }
    fill(digits, digits.length >= length ? 0 : i);
  }

  function onKeyDown(i, e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const input = inputs[i];
    switch (e.key) {
      case 'Backspace':
        e.preventDefault();
        if (input.value) input.value = '';
        else if (i > 0) { inputs[i - 1].value = ''; focusAt(i - 1); }
        changed();
        break;
      case 'Delete':
        e.preventDefault();
        input.value = '';
        changed();
        break;
      case 'ArrowLeft': e.preventDefault(); focusAt(i - 1); break;
      case 'ArrowRight': e.preventDefault(); focusAt(i + 1); break;
      case 'Home': e.preventDefault(); focusAt(0); break;
      case 'End': e.preventDefault(); focusAt(length - 1); break;
      default:
        // Block non-digit printable characters before they land (Enter, Tab etc. pass through).
        if (e.key.length === 1 && !/\d/.test(e.key)) e.preventDefault();
    }
  }

  function onPaste(i, e) {
    e.preventDefault();
    const digits = extractCode(e.clipboardData?.getData('text') ?? '');
    if (digits) fill(digits, digits.length >= length ? 0 : i);
  }

  return {
    length,
    value,
    isComplete,
    focusFirst: () => focusAt(0),
    fill: (digits) => fill(extractCode(String(digits)), 0),
    focusFirstEmpty: () => focusAt(firstEmpty()),
    clear() { inputs.forEach((input) => { input.value = ''; }); wasComplete = false; },
    setDisabled(disabled) { inputs.forEach((input) => { input.disabled = disabled; }); },
    setReadOnly(readOnly) { inputs.forEach((input) => { input.readOnly = readOnly; }); },
    setInvalid(invalid) { inputs.forEach((input) => setInvalidAttr(input, invalid)); },
  };
}

// ---------------------------------------------------------------------------
// Page state and small DOM helpers
// ---------------------------------------------------------------------------
const el = {
  stepSignup: $('#step-signup'),
  stepCode: $('#step-code'),
  stepDone: $('#signed-in'),
  status: $('#status'),
  signupForm: $('#signup-form'),
  name: $('#name'),
  email: $('#email'),
  password: $('#password'),
  passwordToggle: $('#password-toggle'),
  phone: $('#phone'),
  channelField: $('#channel-field'),
  channelSms: $('#channel-sms'),
  channelEmail: $('#channel-email'),
  startButton: $('#start-button'),
  formError: $('#form-error'),
  startCountdown: $('#start-countdown'),
  codeTitle: $('#code-title'),
  codeSentTo: $('#code-sent-to'),
  codeDestination: $('#code-destination'),
  changeEmail: $('#change-email'),
  codeForm: $('#code-form'),
  digits: $('#otp-digits'),
  codeError: $('#code-error'),
  expiry: $('#expiry-countdown'),
  verifyButton: $('#verify-button'),
  resendButton: $('#resend-button'),
  resendCountdown: $('#resend-countdown'),
  signedInTitle: $('#signed-in-title'),
  signedInEmail: $('#signed-in-email'),
  verifiedBadge: $('#verified-badge'),
};

const FIELDS = ['name', 'email', 'password', 'phone'];
const codeLength = readCodeLength();
const state = { email: '', channel: 'email', flowId: '', busy: false, stopExpiry: null, stopResend: null, stopStartRetry: null, webOtp: null };
let otp;

function readCodeLength() {
  const n = Number.parseInt(el.codeForm.dataset.codeLength ?? '', 10);
  return Number.isInteger(n) && n >= 4 && n <= 10 ? n : DEFAULT_CODE_LENGTH;
}

function setInvalidAttr(input, invalid) {
  if (invalid) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function setFieldError(field, messages) {
  const text = [].concat(messages ?? []).filter(Boolean).join(' ');
  $(`#${field}-error`).textContent = text;
  setInvalidAttr(el[field], Boolean(text));
}

function clearSignupErrors() {
  FIELDS.forEach((field) => setFieldError(field, null));
  el.formError.textContent = '';
  stopStartRetry();
}

function setCodeError(text) {
  el.codeError.textContent = text ?? '';
  otp.setInvalid(Boolean(text));
}

// Screen readers always hear it; sighted users see it only when it adds something
// the page doesn't already show (the step headings and buttons say most of it).
function announce(text, { visible = false } = {}) {
  el.status.classList.toggle('visually-hidden', !visible);
  el.status.textContent = text;
}

function setBusy(button, busy, busyLabel) {
  // aria-disabled (not disabled) so the button keeps focus while the request runs.
  state.busy = busy;
  if (busy) {
    button.dataset.label = button.textContent;
    button.textContent = busyLabel;
    button.setAttribute('aria-disabled', 'true');
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    button.removeAttribute('aria-disabled');
  }
}

function showStep(step) {
  for (const section of [el.stepSignup, el.stepCode, el.stepDone]) section.hidden = section !== step;
}

function getDeviceId() {
  const make = () => (crypto.randomUUID ? crypto.randomUUID() : uuidFromRandomValues());
  try {
    let id = localStorage.getItem(DEVICE_ID_KEY);
    if (!id) { id = make(); localStorage.setItem(DEVICE_ID_KEY, id); }
    return id;
  } catch {
    // Storage blocked (private mode, policies): keep one id for this page's lifetime.
    return (getDeviceId.memory ??= make());
  }
}

// crypto.randomUUID only exists in secure contexts; getRandomValues exists everywhere.
function uuidFromRandomValues() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------
// Messages for the contract's error codes
// ---------------------------------------------------------------------------
const MESSAGES = Object.fromEntries(
  ['email_taken', 'flow_expired', 'too_frequent', 'rate_limited', 'code_expired', 'max_attempts',
    'device_mismatch', 'unavailable', 'network', 'generic'].map((code) => [code, t(code)]),
);

function invalidCodeMessage(attemptsRemaining) {
  const left = seconds(attemptsRemaining);
  if (left === null) return t('invalidCodeUnknown');
  if (left === 0) return t('invalidCodeNone');
  return left === 1 ? t('invalidCodeOne') : t('invalidCodeMany', { left });
}

// Turns a `validation` problem's errors object into { field: [messages] } plus leftovers.
function splitValidationErrors(errors, knownFields) {
  const byField = {};
  const other = [];
  for (const [rawKey, rawMessages] of Object.entries(errors ?? {})) {
    const messages = [].concat(rawMessages ?? []).map(String);
    let key = rawKey.replace(/^\$\.?/, '');
    key = key.charAt(0).toLowerCase() + key.slice(1);
    if (key === 'channel') key = 'phone'; // "SMS needs a phone number" belongs next to the phone field
    if (knownFields.includes(key)) (byField[key] ??= []).push(...messages);
    else other.push(...messages);
  }
  return { byField, other };
}

// ---------------------------------------------------------------------------
// Step 1: signup
// ---------------------------------------------------------------------------
function validateSignupLocally() {
  const errors = {};
  if (!el.name.value.trim()) errors.name = t('enterName');
  if (!el.email.value.trim()) errors.email = t('enterEmail');
  else if (el.email.validity.typeMismatch) errors.email = t('enterValidEmail');
  if (!el.password.value) errors.password = t('choosePassword');
  return errors;
}

function focusFirstInvalid() {
  const field = FIELDS.find((f) => el[f].getAttribute('aria-invalid') === 'true');
  if (field) el[field].focus();
  return Boolean(field);
}

function selectedChannel() {
  return el.phone.value.trim() && el.channelSms.checked ? 'sms' : 'email';
}

function updateChannelVisibility() {
  const hasPhone = Boolean(el.phone.value.trim());
  el.channelField.hidden = !hasPhone;
  if (!hasPhone) el.channelEmail.checked = true;
}

function stopStartRetry() {
  state.stopStartRetry?.();
  state.stopStartRetry = null;
  el.startCountdown.hidden = true;
  el.startCountdown.textContent = '';
}

function showStartRetry(secondsLeft) {
  stopStartRetry();
  if (!secondsLeft) return;
  el.startCountdown.hidden = false;
  state.stopStartRetry = countdown(
    secondsLeft,
    (left) => { el.startCountdown.textContent = t('tryAgainIn', { time: formatDuration(left) }); },
    () => { el.startCountdown.hidden = true; announce(t('tryAgainNow'), { visible: true }); },
  );
}

async function onSignupSubmit(event) {
  event.preventDefault();
  if (state.busy) return;
  clearSignupErrors();

  const local = validateSignupLocally();
  if (Object.keys(local).length) {
    for (const [field, message] of Object.entries(local)) setFieldError(field, message);
    focusFirstInvalid();
    return;
  }

  const email = el.email.value.trim();
  const phone = el.phone.value.trim();
  const body = { name: el.name.value.trim(), email, password: el.password.value, channel: selectedChannel(), deviceId: getDeviceId() };
  if (phone) body.phone = phone;

  setBusy(el.startButton, true, t('sendingCode'));
  announce(t('sendingYourCode'));
  const result = await api('signup/start', body);
  setBusy(el.startButton, false);

  if (result.ok) {
    announce('');
    enterCodeStep(email, body.channel === 'sms' ? phone : email, body.channel, result.data ?? {});
    return;
  }
  announce('');
  showSignupProblem(result.problem);
}

function showSignupProblem(problem) {
  switch (problem.code) {
    case 'validation': {
      const { byField, other } = splitValidationErrors(problem.errors, FIELDS);
      for (const [field, messages] of Object.entries(byField)) setFieldError(field, messages);
      if (other.length) el.formError.textContent = other.join(' ');
      else if (!Object.keys(byField).length) el.formError.textContent = problem.detail || problem.title || MESSAGES.generic;
      if (!focusFirstInvalid()) el.startButton.focus();
      break;
    }
    case 'email_taken':
      setFieldError('email', MESSAGES.email_taken);
      el.email.focus();
      break;
    case 'too_frequent':
    case 'rate_limited':
      el.formError.textContent = MESSAGES[problem.code];
      showStartRetry(problem.retryAfter);
      break;
    case 'unavailable':
    case 'network':
      el.formError.textContent = MESSAGES[problem.code];
      break;
    default:
      el.formError.textContent = MESSAGES.generic;
  }
}

// ---------------------------------------------------------------------------
// Step 2: code
// ---------------------------------------------------------------------------
function enterCodeStep(email, destination, channel, { expiresIn, resendAfter, flowId }) {
  state.email = email;
  state.channel = channel;
  // The flow this page started: verify sends it back, and a restart elsewhere makes it stale.
  state.flowId = flowId ?? '';
  el.codeTitle.textContent = channel === 'sms' ? t('checkPhone') : t('checkEmail');
  el.codeDestination.textContent = destination;
  el.changeEmail.textContent = channel === 'sms' ? t('changeDetails') : t('changeEmail');
  unlockCode();
  startExpiry(expiresIn);
  startResendCooldown(resendAfter);
  showStep(el.stepCode);
  announce(t('sentCode', { length: codeLength, destination }));
  otp.focusFirst();
  if (channel === 'sms') listenForWebOtp();
}

function startExpiry(expiresIn) {
  state.stopExpiry?.();
  state.stopExpiry = null;
  const total = seconds(expiresIn);
  el.expiry.classList.remove('expired');
  if (total === null) { el.expiry.textContent = ''; return; }
  state.stopExpiry = countdown(
    total,
    (left) => { el.expiry.textContent = t('expiresIn', { time: formatDuration(left) }); },
    () => {
      el.expiry.textContent = t('expired');
      el.expiry.classList.add('expired');
      announce(t('expiredAnnounce'));
    },
  );
}

function startResendCooldown(secondsLeft) {
  state.stopResend?.();
  state.stopResend = null;
  const total = seconds(secondsLeft) ?? 0;
  el.resendButton.disabled = total > 0;
  if (total === 0) { el.resendCountdown.textContent = ''; return; }
  state.stopResend = countdown(
    total,
    (left) => { el.resendCountdown.textContent = left > 0 ? t('resendIn', { time: formatDuration(left) }) : ''; },
    () => {
      el.resendButton.disabled = false;
      if (el.digits.querySelector('[disabled]')) announce(t('canResendNow'));
    },
  );
}

// After expired / max attempts: only a new code helps, so lock the boxes and point at resend.
function lockCode(message, expired = false) {
  state.stopExpiry?.();
  state.stopExpiry = null;
  el.expiry.textContent = expired ? t('expired') : '';
  el.expiry.classList.toggle('expired', expired);
  setCodeError(message);
  otp.clear();
  otp.setDisabled(true);
  el.verifyButton.disabled = true;
  if (!el.resendButton.disabled) el.resendButton.focus();
  else el.codeTitle.focus();
}

function unlockCode() {
  otp.clear();
  otp.setDisabled(false);
  el.verifyButton.disabled = false;
  setCodeError('');
}

async function verify() {
  if (state.busy) return;
  if (!otp.isComplete()) {
    setCodeError(t('enterAllDigits', { length: codeLength }));
    otp.focusFirstEmpty();
    return;
  }
  const code = otp.value();
  stopWebOtp();
  setCodeError('');
  otp.setReadOnly(true);
  setBusy(el.verifyButton, true, t('verifying'));
  announce(t('checkingCode'));
  const result = await api('signup/verify?useCookies=true', { email: state.email, code, flowId: state.flowId, deviceId: getDeviceId() });
  setBusy(el.verifyButton, false);
  otp.setReadOnly(false);

  if (result.ok) {
    await showSignedIn(result.data ?? {});
    return;
  }
  announce('');
  const problem = result.problem;
  switch (problem.code) {
    case 'invalid_code': {
      const left = seconds(problem.attemptsRemaining);
      if (left === 0) { lockCode(invalidCodeMessage(0)); break; }
      setCodeError(invalidCodeMessage(problem.attemptsRemaining));
      shake();
      otp.clear();
      otp.focusFirst();
      break;
    }
    case 'code_expired':
    case 'max_attempts':
      lockCode(MESSAGES[problem.code], problem.code === 'code_expired');
      break;
    case 'flow_expired':
      // Started again somewhere else (or long ago): this page's code no longer counts.
      stopCodeTimers();
      showStep(el.stepSignup);
      clearSignupErrors();
      setFieldError('email', MESSAGES.flow_expired);
      el.email.focus();
      break;
    case 'email_taken':
      // Someone registered this address meanwhile: back to the form, error under the email.
      stopCodeTimers();
      showStep(el.stepSignup);
      clearSignupErrors();
      setFieldError('email', MESSAGES.email_taken);
      el.email.focus();
      break;
    case 'validation': {
      const { byField, other } = splitValidationErrors(problem.errors, []);
      const messages = [...Object.values(byField).flat(), ...other];
      setCodeError(messages.join(' ') || problem.detail || problem.title || MESSAGES.generic);
      otp.focusFirst();
      break;
    }
    case 'device_mismatch':
    case 'unavailable':
    case 'network':
    case 'too_frequent':
    case 'rate_limited':
      setCodeError(MESSAGES[problem.code]);
      el.verifyButton.focus();
      break;
    default:
      setCodeError(MESSAGES.generic);
      el.verifyButton.focus();
  }
}

function shake() {
  el.digits.classList.remove('shake');
  void el.digits.offsetWidth; // restart the animation
  el.digits.classList.add('shake');
}

async function resend() {
  if (state.busy || el.resendButton.disabled) return;
  state.busy = true;
  el.resendButton.disabled = true;
  el.resendCountdown.textContent = '';
  announce(t('sendingNewCode'));
  const result = await api('signup/resend', { email: state.email });
  state.busy = false;

  if (result.ok) {
    const { expiresIn, resendAfter } = result.data ?? {};
    unlockCode();
    startExpiry(expiresIn);
    startResendCooldown(resendAfter);
    // Early in a code's lifetime the same code is sent again; later a new one replaces it.
    announce(t('resent', { destination: el.codeDestination.textContent }), { visible: true });
    otp.focusFirst();
    if (state.channel === 'sms') listenForWebOtp();
    return;
  }

  announce('');
  const problem = result.problem;
  if (problem.code === 'too_frequent' || problem.code === 'rate_limited') {
    setCodeError(MESSAGES[problem.code]);
    startResendCooldown(problem.retryAfter ?? 0);
  } else {
    setCodeError(MESSAGES[problem.code] ?? MESSAGES.generic);
    startResendCooldown(0);
  }
  // Don't leave focus on the now-disabled button.
  if (el.resendButton.disabled) {
    if (el.digits.querySelector('.otp-digit:not([disabled])')) otp.focusFirst();
    else el.codeTitle.focus();
  }
}

function stopCodeTimers() {
  stopWebOtp();
  state.stopExpiry?.();
  state.stopResend?.();
  state.stopExpiry = state.stopResend = null;
}

function backToSignup() {
  stopCodeTimers();
  setCodeError('');
  announce('');
  showStep(el.stepSignup);
  el.email.focus();
}

// ---------------------------------------------------------------------------
// WebOTP: the browser reads the SMS that ends with "@<this host> #<code>" and offers the code
// (Chrome on Android asks the user once). Feature-detected; aborted when the user submits or
// leaves the code step, so a late answer never fills a finished form.
// ---------------------------------------------------------------------------
function listenForWebOtp() {
  if (!('OTPCredential' in window) || !navigator.credentials?.get) return;
  stopWebOtp();
  const controller = new AbortController();
  state.webOtp = controller;
  navigator.credentials.get({ otp: { transport: ['sms'] }, signal: controller.signal })
    .then((credential) => {
      if (controller.signal.aborted || !credential?.code) return;
      otp.fill(credential.code);
    })
    .catch(() => { /* aborted, refused by the user, or not available: type the code instead */ })
    .finally(() => { if (state.webOtp === controller) state.webOtp = null; });
}

function stopWebOtp() {
  state.webOtp?.abort();
  state.webOtp = null;
}

// ---------------------------------------------------------------------------
// Step 3: signed in
// ---------------------------------------------------------------------------
async function showSignedIn(verifyBody) {
  stopCodeTimers();
  const me = await api('api/me', undefined, 'GET');
  const email = (me.ok && me.data?.email) || verifyBody.email || state.email;
  el.signedInEmail.textContent = email;
  el.verifiedBadge.hidden = !(me.ok && me.data?.emailVerified === true);
  el.password.value = '';
  showStep(el.stepDone);
  if (me.ok) announce(t('accountCreated'));
  else announce(t('accountCreatedNoSession'), { visible: true });
  el.signedInTitle.focus();
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------
applyStaticStrings();
otp = createOtpInput(el.digits, codeLength, { onComplete: () => { if (!state.busy) verify(); } });
el.codeSentTo.textContent = t('codeSentTo', { length: codeLength });

el.signupForm.addEventListener('submit', onSignupSubmit);
el.codeForm.addEventListener('submit', (e) => { e.preventDefault(); verify(); });
el.resendButton.addEventListener('click', resend);
el.changeEmail.addEventListener('click', backToSignup);
el.phone.addEventListener('input', updateChannelVisibility);
el.digits.addEventListener('animationend', () => el.digits.classList.remove('shake'));

// Editing a field clears its error.
for (const field of FIELDS) {
  el[field].addEventListener('input', () => {
    if (el[field].getAttribute('aria-invalid') === 'true') setFieldError(field, null);
  });
}

el.passwordToggle.addEventListener('click', () => {
  const show = el.password.type === 'password';
  el.password.type = show ? 'text' : 'password';
  el.passwordToggle.textContent = show ? t('hide') : t('show');
  el.passwordToggle.setAttribute('aria-label', show ? t('hidePassword') : t('showPassword'));
});

updateChannelVisibility();
getDeviceId();
