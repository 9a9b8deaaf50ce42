// Passkey ceremonies of the workbench's pages: the server's options
// (webauthn-rs's JSON, binary fields as unpadded base64url) become
// navigator.credentials arguments, and the credential goes back as JSON.
// The CSRF token rides in x-csrf-token; errors show in the form's alert.
(function () {
  "use strict";
  function b64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function u64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creation(o) {
    var pk = o.publicKey;
    pk.challenge = b64u(pk.challenge);
    pk.user.id = b64u(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64u(c.id); });
    return { publicKey: pk };
  }
  function request(o) {
    var pk = o.publicKey;
    pk.challenge = b64u(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64u(c.id); });
    return { publicKey: pk };
  }
  function attestation(c) {
    return {
      id: c.id, rawId: u64(c.rawId), type: c.type, extensions: {},
      response: {
        attestationObject: u64(c.response.attestationObject),
        clientDataJSON: u64(c.response.clientDataJSON)
      }
    };
  }
  function assertion(c) {
    var r = c.response;
    return {
      id: c.id, rawId: u64(c.rawId), type: c.type, extensions: {},
      response: {
        authenticatorData: u64(r.authenticatorData),
        clientDataJSON: u64(r.clientDataJSON),
        signature: u64(r.signature),
        userHandle: r.userHandle ? u64(r.userHandle) : null
      }
    };
  }
  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) throw new Error((j.error && j.error.message) || res.statusText);
        return j;
      });
    });
  }
  function show(form, text) {
    var alert = form.querySelector("[role=alert]");
    alert.textContent = text;
    alert.hidden = false;
  }
  function ready() {
    return window.PublicKeyCredential && navigator.credentials && window.isSecureContext;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var signIn = document.getElementById("passkey-sign-in");
    if (signIn) signIn.addEventListener("submit", function (e) {
      e.preventDefault();
      var csrf = signIn.dataset.csrf;
      if (!ready()) return show(signIn, signIn.dataset.unsupported);
      var login = signIn.querySelector("[name=login]").value.trim();
      post("/ui/login/passkey/start", csrf, login ? { login: login } : {})
        .then(function (c) {
          return navigator.credentials.get(request(c.options)).then(function (cred) {
            return post("/ui/login/passkey/finish", csrf,
              { ceremony: c.ceremony, credential: assertion(cred), lang: signIn.dataset.lang });
          });
        })
        .then(function (done) { window.location.assign(done.redirect); })
        .catch(function (err) { show(signIn, signIn.dataset.failed + " " + err.message); });
    });
    var reg = document.getElementById("passkey-register");
    if (reg) reg.addEventListener("submit", function (e) {
      e.preventDefault();
      var csrf = reg.dataset.csrf;
      if (!ready()) return show(reg, reg.dataset.unsupported);
      var name = reg.querySelector("[name=name]").value;
      post("/ui/passkeys/start", csrf, { name: name })
        .then(function (c) {
          return navigator.credentials.create(creation(c.options)).then(function (cred) {
            return post("/ui/passkeys/finish", csrf, { ceremony: c.ceremony, credential: attestation(cred) });
          });
        })
        .then(function () { window.location.reload(); })
        .catch(function (err) { show(reg, reg.dataset.failed + " " + err.message); });
    });
  });
})();
