// OtpVerification sample — the flows of issue 15 (ES module, no build step): phone signup,
// verify a phone first then register with the proof, and passwordless sign-in by code.
// Every verify uses ?useCookies=true, then GET api/me shows who is signed in. Text is only ever
// written with textContent.

const DEVICE_ID_KEY = 'otpSample.deviceId';
const $ = (selector) => document.querySelector(selector);

function deviceId() {
  let id = localStorage.getItem(DEVICE_ID_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(DEVICE_ID_KEY, id);
  }
  return id;
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    return { ok: response.ok, status: response.status, data: data ?? {} };
  } catch {
    return { ok: false, status: 0, data: { title: 'The network is unreachable. Try again.' } };
  }
}

function problemText(data) {
  const errors = data && data.errors ? Object.values(data.errors).flat() : [];
  if (errors.length > 0) return errors.join(' ');
  if (data && data.code === 'invalid_code' && typeof data.attemptsRemaining === 'number') {
    return `Wrong code. ${data.attemptsRemaining} attempts left.`;
  }
  return (data && data.title) || 'Something went wrong. Try again.';
}

async function showSignedIn() {
  const response = await fetch('api/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const me = response.ok ? await response.json() : null;
  for (const id of ['#phone-signup', '#proof', '#signin']) $(id).hidden = true;
  $('#flows-done').hidden = false;
  $('#flows-result').textContent = me ? `Signed in as ${me.email ?? me.phone}` : 'Signed in.';
}

function wire(startForm, codeForm, errorLine, start, verify) {
  let flow = null;
  startForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorLine.textContent = '';
    const result = await start();
    if (!result.ok) { errorLine.textContent = problemText(result.data); return; }
    flow = result.data.flowId;
    startForm.hidden = true;
    codeForm.hidden = false;
    codeForm.querySelector('input').focus();
    $('#flows-status').textContent = 'Code sent.';
  });
  codeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorLine.textContent = '';
    const code = codeForm.querySelector('input').value.trim();
    const result = await verify(code, flow);
    if (!result.ok) { errorLine.textContent = problemText(result.data); return; }
    await result.next();
  });
}

// Phone signup: channel sms, no email.
wire($('#phone-signup-form'), $('#phone-signup-code-form'), $('#phone-signup-error'),
  () => post('signup/start', {
    name: $('#phone-signup-name').value, phone: $('#phone-signup-phone').value,
    password: $('#phone-signup-password').value, channel: 'sms', deviceId: deviceId(),
  }),
  async (code, flowId) => {
    const result = await post('signup/verify?useCookies=true', { phone: $('#phone-signup-phone').value, code, flowId, deviceId: deviceId() });
    return { ...result, next: showSignedIn };
  });

// Verify a phone first, then register with the proof.
let proof = null;
wire($('#proof-start-form'), $('#proof-code-form'), $('#proof-error'),
  () => post('phone-verification/start', { phone: $('#proof-phone').value, deviceId: deviceId() }),
  async (code, flowId) => {
    const result = await post('phone-verification/verify', { phone: $('#proof-phone').value, code, flowId, deviceId: deviceId() });
    return {
      ...result,
      next: async () => {
        proof = result.data.phoneProof;
        $('#proof-code-form').hidden = true;
        $('#proof-register-form').hidden = false;
      },
    };
  });
$('#proof-register-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('#proof-error').textContent = '';
  const result = await post('signup/start?useCookies=true', {
    name: $('#proof-name').value, password: $('#proof-password').value,
    phone: $('#proof-phone').value, deviceId: deviceId(), phoneProof: proof,
  });
  if (!result.ok) { $('#proof-error').textContent = problemText(result.data); return; }
  await showSignedIn();
});

// Passwordless sign-in: an address with an @ is an email, anything else a phone.
const addressBody = () => {
  const value = $('#signin-address').value.trim();
  return value.includes('@') ? { email: value } : { phone: value };
};
wire($('#signin-start-form'), $('#signin-code-form'), $('#signin-error'),
  () => post('signin/code/start', { ...addressBody(), deviceId: deviceId() }),
  async (code, flowId) => {
    const result = await post('signin/code/verify?useCookies=true', { ...addressBody(), code, flowId, deviceId: deviceId() });
    return { ...result, next: showSignedIn };
  });
