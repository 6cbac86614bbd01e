(function () {
  "use strict";
  var f = document.getElementById("passkey-form");
  if (!f || !window.PublicKeyCredential || !navigator.credentials) return;
  var d = f.dataset, m = document.getElementById("passkey-error");
  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var r = atob(s), a = new Uint8Array(r.length);
    for (var i = 0; i < r.length; i++) a[i] = r.charCodeAt(i);
    return a;
  }
  function text(buf) {
    var a = new Uint8Array(buf || new ArrayBuffer(0)), s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function put(name, buf) { f.elements[name].value = text(buf); }
  f.hidden = false;
  f.addEventListener("submit", function (e) {
    e.preventDefault();
    m.hidden = true;
    var ask, key = { challenge: bytes(d.challenge), timeout: 120000, userVerification: "required" };
    if (d.mode === "create") {
      key.rp = { id: d.rp, name: d.rp };
      key.user = { id: bytes(d.user), name: d.name, displayName: d.name };
      key.pubKeyCredParams = [-7, -8, -257].map(function (a) { return { type: "public-key", alg: a }; });
      key.authenticatorSelection = { residentKey: "required", requireResidentKey: true, userVerification: "required" };
      key.attestation = "none";
      key.excludeCredentials = (d.exclude ? d.exclude.split(" ") : []).map(function (id) {
        return { type: "public-key", id: bytes(id) };
      });
      ask = navigator.credentials.create({ publicKey: key });
    } else {
      key.rpId = d.rp;
      ask = navigator.credentials.get({ publicKey: key });
    }
    ask.then(function (c) {
      var r = c.response;
      put("client_data", r.clientDataJSON);
      if (d.mode === "create") {
        put("attestation_object", r.attestationObject);
      } else {
        put("credential_id", c.rawId);
        put("authenticator_data", r.authenticatorData);
        put("signature", r.signature);
        put("user_handle", r.userHandle);
      }
      f.submit();
    }, function () { m.hidden = false; });
  });
})();
