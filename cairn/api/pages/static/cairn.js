// Cairn's pages work without this script; it only adds conveniences.
"use strict";

// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A <button data-copy="text"> copies its text (a digest, a reference) to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    button.dataset.copied = "yes";
    button.textContent = "Copied";
  });
});

// --- The audit log: an entry's inclusion proof, verified here -----------------------------
// The same rules as cairn.domain.audit and cairn.domain.merkle (RFC 9162 §2.1): a leaf is
// SHA-256(0x00 || RFC 8785 JSON of the entry's document), an inner node SHA-256(0x01 || left
// || right); the checkpoint is Ed25519-signed over "cairn audit log v1\n<size>\n<root>\n".
const cairnAudit = (() => {
  const utf8 = (text) => new TextEncoder().encode(text);
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

  function unhex(text) {
    if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text)) {
      throw new Error("not a hex string: " + String(text).slice(0, 20));
    }
    return Uint8Array.from(text.match(/../g) || [], (pair) => parseInt(pair, 16));
  }

  async function sha256(...parts) {
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  }

  // RFC 8785: ECMAScript's own number and string forms, keys sorted by UTF-16 code units.
  function canonical(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        throw new Error("a number JSON cannot hold");
      }
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) {
      return "[" + value.map(canonical).join(",") + "]";
    }
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }

  const leafHash = (document) => sha256(Uint8Array.of(0), utf8(canonical(document)));
  const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

  // verify_inclusion's walk: the root the path leads to from the leaf, or null if the path
  // does not fit a tree of that size. Halving by division keeps indexes above 2**31 exact.
  async function rootFrom(leaf, index, size, path) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      return null;
    }
    const half = (n) => Math.floor(n / 2);
    let fn = index;
    let sn = size - 1;
    let computed = leaf;
    for (const sibling of path) {
      if (sn === 0 || sibling.length !== 32) {
        return null;
      }
      if (fn % 2 === 1 || fn === sn) {
        computed = await nodeHash(sibling, computed);
        while (fn !== 0 && fn % 2 === 0) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        computed = await nodeHash(computed, sibling);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 ? computed : null;
  }

  const same = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);

  // verify_consistency's walk (RFC 9162 §2.1.4.2): whether ``proof`` shows the tree of
  // (oldSize, oldRoot) is the first oldSize leaves of the tree of (newSize, newRoot).
  async function consistent(oldSize, newSize, oldRoot, newRoot, proof) {
    if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize))) {
      return false;
    }
    if (!(oldSize >= 0 && oldSize <= newSize) || [oldRoot, newRoot, ...proof].some((h) => h.length !== 32)) {
      return false;
    }
    if (oldSize === 0) {
      return proof.length === 0 && same(oldRoot, await sha256());
    }
    if (oldSize === newSize) {
      return proof.length === 0 && same(oldRoot, newRoot);
    }
    if (proof.length === 0) {
      return false;
    }
    const half = (n) => Math.floor(n / 2);
    let odd = oldSize;
    while (odd % 2 === 0) {
      odd = half(odd);
    }
    // The old tree is a whole node of the new one when its size is a power of two.
    const path = odd === 1 ? [oldRoot, ...proof] : proof.slice();
    let fn = oldSize - 1;
    let sn = newSize - 1;
    while (fn % 2 === 1) {
      fn = half(fn);
      sn = half(sn);
    }
    let oldComputed = path[0];
    let newComputed = path[0];
    for (const node of path.slice(1)) {
      if (sn === 0) {
        return false;
      }
      if (fn % 2 === 1 || fn === sn) {
        oldComputed = await nodeHash(node, oldComputed);
        newComputed = await nodeHash(node, newComputed);
        while (fn !== 0 && fn % 2 === 0) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        newComputed = await nodeHash(newComputed, node);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && same(oldComputed, oldRoot) && same(newComputed, newRoot);
  }

  // A key's id as cairn.domain.audit_keys.key_id_of draws it: SHA-256 of the raw 32-byte key.
  async function keyFrom(pem) {
    const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
    const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    const id = "ed25519:" + hex(await sha256(der.slice(der.length - 32))).slice(0, 32);
    return { key, id };
  }

  async function signatureHolds(checkpoint) {
    if (!checkpoint.public_key) {
      return "the server does not publish the key " + checkpoint.key_id;
    }
    const { key, id } = await keyFrom(checkpoint.public_key);
    if (id !== checkpoint.key_id) {
      return "the published key is " + id + ", not " + checkpoint.key_id;
    }
    const signed = utf8("cairn audit log v1\n" + checkpoint.size + "\n" + checkpoint.root + "\n");
    const signature = Uint8Array.from(atob(checkpoint.signature), (c) => c.charCodeAt(0));
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signed);
    return ok ? null : "the checkpoint's signature does not verify with " + id;
  }

  // What the proof shows: {ok, message}. Every failure names what did not hold.
  async function verifyProof(proof) {
    try {
      const checkpoint = proof.checkpoint;
      const leaf = await leafHash(proof.document);
      if (hex(leaf) !== proof.leaf_hash) {
        return { ok: false, message: "failed: the entry's content does not hash to its leaf " +
          proof.leaf_hash + " (it hashes to " + hex(leaf) + ")" };
      }
      const root = await rootFrom(leaf, proof.index, checkpoint.size, proof.path.map(unhex));
      if (root === null || hex(root) !== checkpoint.root) {
        return { ok: false, message: "failed: the proof does not lead from entry " + proof.index +
          " to the signed root " + checkpoint.root };
      }
      const problem = await signatureHolds(checkpoint);
      if (problem) {
        return { ok: false, message: "failed: " + problem };
      }
      return { ok: true, message: "verified: the entry is in the log of size " + checkpoint.size +
        " whose root is " + checkpoint.root + " (checkpoint signed by key " + checkpoint.key_id + ")" };
    } catch (error) {
      return { ok: false, message: "failed: " + error.message };
    }
  }

  // The latest checkpoint's signature and, given one seen before, that the log only grew.
  async function verifyCheckpoint(data) {
    try {
      const checkpoint = data.checkpoint;
      const problem = await signatureHolds(checkpoint);
      if (problem) {
        return { ok: false, message: "failed: " + problem };
      }
      let message = "verified: checkpoint " + checkpoint.size + " (root " + checkpoint.root +
        ") is signed by " + checkpoint.key_id;
      const seen = data.seen;
      if (seen) {
        const size = Number(seen.size);
        const grown = Array.isArray(seen.proof) && await consistent(
          size, checkpoint.size, unhex(seen.root), unhex(checkpoint.root), seen.proof.map(unhex));
        if (!grown) {
          return { ok: false, message: "failed: nothing shows that the log of size " +
            checkpoint.size + " extends the checkpoint of size " + seen.size + " seen before" };
        }
        message += ", and the log only grew since the checkpoint of size " + size + " seen before";
      }
      return { ok: true, message };
    } catch (error) {
      return { ok: false, message: "failed: " + error.message };
    }
  }

  return { canonical, consistent, leafHash, rootFrom, verifyCheckpoint, verifyProof };
})();
window.cairnAudit = cairnAudit;

// A "Verify" button (shown only where this script runs) checks the proof its page embeds.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector("button[data-verify-proof]");
  const result = document.getElementById("verify-result");
  if (!button || !result) {
    return;
  }
  button.hidden = false;
  result.textContent = "Press Verify to check the proof in this browser.";
  button.addEventListener("click", async () => {
    result.textContent = "Verifying…";
    let proof;
    try {
      proof = JSON.parse(document.getElementById(button.dataset.verifyProof).textContent);
    } catch (error) {
      result.textContent = "failed: the proof on this page is not JSON";
      result.className = "bad";
      return;
    }
    const found = await cairnAudit.verifyProof(proof);
    result.textContent = found.ok ? "✓ " + found.message : "✗ " + found.message;
    result.className = found.ok ? "ok" : "bad";
    result.dataset.verified = found.ok ? "yes" : "no";
  });
});

// The audit log's checkpoint check, done again here: the signature with WebCrypto's Ed25519 and
// the consistency proof from the checkpoint seen before. This browser remembers the last
// checkpoint it verified and offers it next time, so "the log only grew" is checked against
// what you saw, not what the server says you saw.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.verify-checkpoint");
  if (!form || !window.localStorage) {
    return;
  }
  const remembered = JSON.parse(localStorage.getItem("cairn.audit.seen") || "null");
  const size = form.querySelector("#seen_size");
  const root = form.querySelector("#seen_root");
  if (remembered && !size.value && !root.value) {
    size.value = remembered.size;
    root.value = remembered.root;
  }
  const block = document.getElementById("checkpoint-proof");
  const result = document.getElementById("browser-check");
  if (!block || !result) {
    return;
  }
  result.textContent = "Checking in this browser…";
  cairnAudit.verifyCheckpoint(JSON.parse(block.textContent)).then((found) => {
    result.textContent = (found.ok ? "✓ In this browser: " : "✗ In this browser: ") + found.message;
    result.className = found.ok ? "ok" : "bad";
    result.dataset.verified = found.ok ? "yes" : "no";
    if (found.ok) {
      const seen = { size: Number(form.dataset.size), root: form.dataset.root };
      localStorage.setItem("cairn.audit.seen", JSON.stringify(seen));
    }
  });
});
