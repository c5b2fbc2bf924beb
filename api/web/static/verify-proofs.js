// evidence-vault: a recording's chain of custody checked in the auditor's own browser.
//
// The same file for every vault (README.md prints its SHA-256, so an auditor can compare).
// No third-party code. From the recording's proof bundle it recomputes, here:
//   - each entry's canonical form (RFC 8785) and that it says what the timeline shows,
//   - each entry's Merkle leaf hash and chain hash (SHA-256(0x02 || prev || entry)),
//   - each link of the recording's chain,
//   - each inclusion proof up to the checkpoint's root (RFC 9162 section 2.1.3.2),
//   - the checkpoint's C2SP signed note and its Ed25519 signature (WebCrypto),
// and shows every step's result. Only what is recomputed here is claimed: a key the server
// sent proves nothing about who signed; a key the auditor pastes from elsewhere does.
"use strict";

(function () {
  const section = document.getElementById("verify");
  if (!section) {
    return;
  }
  const words = {};
  for (const item of section.querySelectorAll("#verify-words li")) {
    words[item.dataset.word] = item.textContent;
  }
  const say = (key, ...args) =>
    (words[key] || key).replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
  const table = document.getElementById("verify-steps");
  const body = table.querySelector("tbody");
  const verdict = document.getElementById("verify-verdict");
  const encoder = new TextEncoder();

  class Failure extends Error {}

  // Bytes -----------------------------------------------------------------------------------
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const base64 = (text) => {
    // RFC 4648 only: no whitespace, no URL alphabet, padding where it belongs.
    if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      throw new Failure(`not base64: ${String(text).slice(0, 60)}`);
    }
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  };
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));
  const chainHash = (prev, entry) => sha256(concat(Uint8Array.of(2), prev, entry));

  // RFC 8785 for what custody entries hold: strings, integers, booleans, null, lists, objects.
  // Strings serialise as JSON.stringify does (the RFC's own rule); keys sort by UTF-16 units.
  const canonical = (value) => {
    if (value === null || typeof value === "string" || typeof value === "boolean") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw new Failure(`a custody entry holds integers only, not ${value}`);
      }
      return String(value);
    }
    if (Array.isArray(value)) {
      return `[${value.map(canonical).join(",")}]`;
    }
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  };

  // RFC 9162 section 2.1.3.2: the root an inclusion proof leads to.
  const rootFromInclusion = async (leaf, index, size, proof) => {
    if (!(index < size)) {
      throw new Failure(`leaf ${index} is outside a tree of ${size}`);
    }
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const sibling of proof) {
      if (sn === 0) {
        throw new Failure("the proof is longer than the tree is deep");
      }
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(sibling, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        r = await nodeHash(r, sibling);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) {
      throw new Failure("the proof is shorter than the tree is deep");
    }
    return r;
  };

  // C2SP signed note carrying a tlog-checkpoint body.
  const parseNote = (note) => {
    if (typeof note !== "string" || !note.endsWith("\n")) {
      throw new Failure("the note does not end in a newline");
    }
    const whole = note.slice(0, -1);
    const cut = whole.lastIndexOf("\n\n");
    if (cut < 0) {
      throw new Failure("the note has no blank line before its signatures");
    }
    const text = `${whole.slice(0, cut)}\n`;
    const signatures = whole.slice(cut + 2).split("\n").map((line) => {
      const found = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!found) {
        throw new Failure(`a malformed signature line: ${line.slice(0, 80)}`);
      }
      return { name: found[1], blob: base64(found[2]) };
    });
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || !lines[0]) {
      throw new Failure("the checkpoint body needs an origin, a size and a root");
    }
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1]) || !Number.isSafeInteger(Number(lines[1]))) {
      throw new Failure(`the checkpoint's size is not a decimal number: ${lines[1]}`);
    }
    const root = base64(lines[2]);
    if (root.length !== 32) {
      throw new Failure("the checkpoint's root is not 32 bytes");
    }
    return { text, origin: lines[0], size: Number(lines[1]), root, signatures };
  };

  // A note verifier key: name+hex key ID+base64(0x01 || Ed25519 public key).
  const parseKey = async (text) => {
    const trimmed = text.trim();
    const first = trimmed.indexOf("+");
    const second = trimmed.indexOf("+", first + 1);
    if (first < 1 || second < 0) {
      throw new Failure(`not a note verifier key: ${trimmed.slice(0, 80)}`);
    }
    const name = trimmed.slice(0, first);
    const id = trimmed.slice(first + 1, second);
    const raw = base64(trimmed.slice(second + 1));
    if (raw.length !== 33 || raw[0] !== 1) {
      throw new Failure(`the verifier key ${name} is not an Ed25519 key`);
    }
    const computed = (await sha256(concat(encoder.encode(`${name}\n`), raw))).slice(0, 4);
    if (hex(computed) !== id) {
      throw new Failure(`the verifier key ${name} names a key ID that is not its key's`);
    }
    return { name, id, publicKey: raw.slice(1) };
  };

  const verifySignature = async (key, blob, text) => {
    const imported = await crypto.subtle.importKey(
      "raw", key.publicKey, { name: "Ed25519" }, false, ["verify"],
    );
    return crypto.subtle.verify({ name: "Ed25519" }, imported, blob.slice(4), encoder.encode(text));
  };

  // The page ---------------------------------------------------------------------------------
  let failures = 0;
  let pending = 0;
  const step = (name, status, detail, data = {}) => {
    const row = document.createElement("tr");
    row.className = `verify-${status}`;
    row.dataset.step = name;
    for (const [key, value] of Object.entries(data)) {
      row.dataset[key] = String(value);
    }
    for (const text of [say(name, data.seq ?? ""), say(status), detail]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    body.appendChild(row);
    if (status === "fail") {
      failures += 1;
    } else if (status === "pending") {
      pending += 1;
    }
    return status === "ok";
  };
  const conclude = (status, text) => {
    verdict.className = `verify-${status}`;
    verdict.dataset.status = status;
    verdict.textContent = text;
  };

  const checkSignature = async (note, served, held) => {
    let keys;
    try {
      keys = held ? [await parseKey(held)] : await Promise.all(served.map(parseKey));
    } catch (error) {
      step("keys", "fail", error.message);
      return null;
    }
    step("keys", "ok", keys.map((k) => `${k.name}+${k.id}`).join(", "));
    const signers = [];
    for (const signature of note.signatures) {
      const key = keys.find((k) => k.name === signature.name && k.id === hex(signature.blob.slice(0, 4)));
      if (key === undefined) {
        continue; // a cosignature or another key's: the spec says to ignore it
      }
      if (await verifySignature(key, signature.blob, note.text)) {
        signers.push(key.name);
      } else {
        step("signature", "fail", say("bad_signature", key.name));
        return null;
      }
    }
    if (signers.length === 0) {
      step("signature", "fail", say("no_signature", keys.map((k) => k.name).join(", ")));
      return null;
    }
    step("signature", "ok", signers.join(", "));
    return signers;
  };

  const checkEntry = async (entry, previous, note, itemId) => {
    const event = entry.event;
    const seq = event.seq;
    let parsed;
    try {
      parsed = JSON.parse(entry.canonical);
      if (canonical(parsed) !== entry.canonical) {
        throw new Failure(say("not_canonical"));
      }
      const shown = [
        ["seq", parsed.seq === seq], ["kind", parsed.kind === event.kind],
        ["actor", parsed.actor === event.actor], ["reason", parsed.reason === event.reason],
        ["data", canonical(parsed.data) === canonical(event.data)],
        ["at", Date.parse(parsed.at) === Date.parse(event.at)],
        ["item", parsed.item === itemId],
      ].filter(([, holds]) => !holds).map(([field]) => field);
      if (shown.length) {
        throw new Failure(say("differs", shown.join(", ")));
      }
    } catch (error) {
      step("entry", "fail", error.message, { seq });
      return;
    }
    step("entry", "ok", `${event.kind} · ${event.actor}`, { seq });
    const bytes = encoder.encode(entry.canonical);
    const leaf = await leafHash(bytes);
    step("leaf", same(leaf, base64(entry.leaf_hash)) ? "ok" : "fail", hex(leaf), { seq, leaf: hex(leaf) });
    const expectedPrev = previous === null ? "0".repeat(64) : previous.entry_hash;
    step("link", event.prev_hash === expectedPrev ? "ok" : "fail",
      say("links_to", event.prev_hash.slice(0, 16), expectedPrev.slice(0, 16)), { seq });
    const recomputed = hex(await chainHash(Uint8Array.from(event.prev_hash.match(/../g).map((h) => parseInt(h, 16))), bytes));
    step("hash", recomputed === event.entry_hash ? "ok" : "fail",
      say("hashes_to", recomputed.slice(0, 16), event.entry_hash.slice(0, 16)), { seq });
    if (entry.proof === null || seq > note.size) {
      step("inclusion", "pending", say("after_checkpoint", note.size), { seq });
      return;
    }
    try {
      const root = await rootFromInclusion(leaf, seq - 1, note.size, entry.proof.map(base64));
      step("inclusion", same(root, note.root) ? "ok" : "fail",
        say("leads_to", hex(root).slice(0, 16), hex(note.root).slice(0, 16)), { seq, root: hex(root) });
    } catch (error) {
      step("inclusion", "fail", error.message, { seq });
    }
  };

  const run = async () => {
    body.replaceChildren();
    failures = 0;
    pending = 0;
    table.hidden = false;
    conclude("running", say("running"));
    if (!window.isSecureContext || !crypto.subtle) {
      throw new Failure(say("insecure"));
    }
    const choice = document.getElementById("verify-checkpoint").value;
    const held = document.getElementById("verify-key").value.trim();
    const url = `${section.dataset.bundle}${choice ? `?checkpoint=${encodeURIComponent(choice)}` : ""}`;
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) {
      throw new Failure(`${response.status} ${response.statusText}`);
    }
    const bundle = await response.json();
    let note;
    try {
      note = parseNote(bundle.checkpoint.note);
      step("note", "ok", say("note_says", note.origin, note.size, hex(note.root).slice(0, 16)),
        { size: note.size, root: hex(note.root) });
    } catch (error) {
      step("note", "fail", error.message);
      conclude("fail", say("failed", failures));
      return;
    }
    const signers = await checkSignature(note, bundle.verifier_keys, held);
    const entries = [...bundle.entries].sort((a, b) => a.event.seq - b.event.seq);
    const itemId = section.dataset.item;
    let previous = null;
    for (const entry of entries) {
      await checkEntry(entry, previous, note, itemId);
      previous = entry.event;
    }
    if (failures > 0) {
      const first = body.querySelector("tr.verify-fail");
      conclude("fail", say("failed", failures, say(first.dataset.step, first.dataset.seq ?? "")));
    } else if (pending > 0) {
      conclude("pending", say("partial", entries.length - pending, entries.length, note.size));
    } else {
      conclude("ok", say(held ? "verified_held" : "verified_served", entries.length, note.size, signers.join(", ")));
    }
  };

  document.getElementById("verify-run").addEventListener("click", () => {
    run().catch((error) => {
      step("error", "fail", error.message);
      conclude("fail", say("could_not_run", error.message));
    });
  });
})();
