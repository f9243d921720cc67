// gatelog explorer: checks an entry in the browser with WebCrypto only.
// Reads the leaf, proof and checkpoint note from the page's data
// attributes (or from the JSON API on demand) and the log key pinned in
// <meta name="gatelog-log-key">; reports every step as passed or failed.
'use strict';

(function () {
  const te = new TextEncoder();

  function fromBase64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function fromHex(s) {
    if (!/^[0-9a-f]{64}$/.test(s)) throw new Error('not a 32-byte hex hash: ' + s);
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  async function sha256(...parts) {
    const len = parts.reduce((n, p) => n + p.length, 0);
    const buf = new Uint8Array(len);
    let at = 0;
    for (const p of parts) {
      buf.set(p, at);
      at += p.length;
    }
    return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  }

  // RFC 6962: leaf = SHA-256(0x00 || leaf), node = SHA-256(0x01 || l || r).
  const leafHash = (leaf) => sha256(Uint8Array.of(0), leaf);
  const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);

  // RFC 9162 §2.1.3.2: the root an inclusion path leads to.
  async function rootFromPath(index, size, hash, path) {
    if (!(index < size)) throw new Error('index ' + index + ' is not below the tree size ' + size);
    let fn = index;
    let sn = size - 1;
    let r = hash;
    for (const p of path) {
      if (sn === 0) throw new Error('the proof has more hashes than the tree needs');
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error('the proof has fewer hashes than the tree needs');
    return r;
  }

  // A c2sp.org/signed-note verifier key: name+hex8 key ID+base64(0x01 || key).
  async function parseKey(text) {
    // The base64 key may itself hold '+': split at the first two only.
    const a = text.indexOf('+');
    const b = a < 0 ? -1 : text.indexOf('+', a + 1);
    if (b < 0) throw new Error('the pinned key is not name+id+key');
    const [name, idHex, material] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
    const raw = fromBase64(material);
    if (raw.length !== 33 || raw[0] !== 1) throw new Error('the pinned key is not an Ed25519 note key');
    const pub = raw.slice(1);
    const id = (await sha256(te.encode(name), Uint8Array.of(0x0a, 1), pub)).slice(0, 4);
    if (toHex(id) !== idHex) throw new Error('the pinned key ID does not match its key');
    return { name, id, pub };
  }

  // Splits a signed note into its text and signature lines.
  function parseNote(bytes) {
    const all = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const split = all.lastIndexOf('\n\n');
    if (split < 0) throw new Error('the note has no blank line before its signatures');
    const text = all.slice(0, split + 1);
    const sigs = all.slice(split + 2).split('\n').filter((l) => l !== '');
    const lines = text.split('\n');
    return {
      text,
      origin: lines[0],
      size: lines[1],
      root: lines[2],
      signatures: sigs.map((l) => {
        const m = /^\u2014 (\S+) (\S+)$/.exec(l);
        if (!m) throw new Error('malformed signature line');
        return { name: m[1], raw: fromBase64(m[2]) };
      }),
    };
  }

  async function ed25519Verify(pub, sig, message) {
    const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
    return crypto.subtle.verify({ name: 'Ed25519' }, key, sig, message);
  }

  // Runs every check on one entry; each step is {ok, text}.
  async function check(d) {
    const steps = [];
    const step = (ok, text) => steps.push({ ok, text });
    let computedLeaf = null;
    try {
      computedLeaf = await leafHash(d.leaf);
      step(
        equal(computedLeaf, fromHex(d.leafHash)),
        'Leaf hash: SHA-256(0x00 ‖ leaf) of the ' + d.leaf.length + ' leaf bytes is ' +
          toHex(computedLeaf) + (equal(computedLeaf, fromHex(d.leafHash)) ? ', as the server says.' :
          ', but the server says ' + d.leafHash + '.'),
      );
    } catch (e) {
      step(false, 'Leaf hash: ' + e.message);
    }
    let root = null;
    try {
      root = await rootFromPath(d.index, d.size, computedLeaf, d.path.map(fromHex));
      step(true, 'Inclusion proof: ' + d.path.length + ' hashes lead from leaf ' + d.index +
        ' to root ' + toHex(root) + ' of a tree of ' + d.size + '.');
    } catch (e) {
      step(false, 'Inclusion proof: ' + e.message);
    }
    let note = null;
    try {
      note = parseNote(d.note);
      const cpRoot = fromBase64(note.root);
      const same = root !== null && equal(root, cpRoot) && note.size === String(d.size);
      step(same, same ? 'Checkpoint: its size ' + note.size + ' and root match the proof.' :
        'Checkpoint: its size ' + note.size + ' and root ' + toHex(cpRoot) +
        ' do not match the proof (size ' + d.size + ', root ' + (root ? toHex(root) : 'none') + ').');
    } catch (e) {
      step(false, 'Checkpoint: ' + e.message);
    }
    try {
      const key = await parseKey(d.logKey);
      if (!note) throw new Error('no readable checkpoint');
      if (note.origin !== key.name) throw new Error('its origin ' + note.origin + ' is not the key name ' + key.name);
      const sig = note.signatures.find((s) => s.name === key.name && s.raw.length === 68 &&
        equal(s.raw.slice(0, 4), key.id));
      if (!sig) throw new Error('no signature line by the pinned key ' + key.name);
      const ok = await ed25519Verify(key.pub, sig.raw.slice(4), te.encode(note.text));
      step(ok, ok ? 'Signature: the checkpoint is signed (Ed25519) by the pinned log key ' + d.logKey + '.' :
        'Signature: the Ed25519 signature does not verify under the pinned log key.');
    } catch (e) {
      step(false, 'Signature: ' + e.message);
    }
    return steps;
  }

  function show(list, verdict, steps, what) {
    list.textContent = '';
    for (const s of steps) {
      const li = document.createElement('li');
      li.className = s.ok ? 'ok' : 'bad';
      li.dataset.ok = s.ok ? 'yes' : 'no';
      li.textContent = (s.ok ? '✓ ' : '✗ ') + s.text;
      list.appendChild(li);
    }
    const ok = steps.length > 0 && steps.every((s) => s.ok);
    verdict.hidden = false;
    verdict.dataset.verdict = ok ? 'verified' : 'failed';
    verdict.className = 'verdict ' + (ok ? 'ok' : 'bad');
    verdict.textContent = ok ? '✓ Verified: ' + what + ' is in the log the pinned key signs.' :
      '✗ Verification FAILED: ' + what + ' is not proven to be in the log. Do not trust it.';
  }

  function fail(list, verdict, message) {
    show(list, verdict, [{ ok: false, text: message }], 'this entry');
  }

  async function fromApi(index) {
    const cpResp = await fetch('/checkpoint', { cache: 'no-store' });
    if (!cpResp.ok) throw new Error('GET /checkpoint answered ' + cpResp.status);
    const note = new Uint8Array(await cpResp.arrayBuffer());
    const size = Number(parseNote(note).size);
    const resp = await fetch('/v1/entries/' + index + '?tree_size=' + size, { cache: 'no-store' });
    if (!resp.ok) throw new Error('GET /v1/entries/' + index + ' answered ' + resp.status);
    const e = await resp.json();
    return {
      index: e.inclusion_proof.index,
      size: e.inclusion_proof.tree_size,
      leaf: fromBase64(e.leaf),
      leafHash: e.leaf_hash,
      path: e.inclusion_proof.path,
      note,
    };
  }

  async function main() {
    const section = document.getElementById('verify');
    if (!section) return;
    const verdict = document.getElementById('verify-verdict');
    const list = document.getElementById('verify-steps');
    const meta = document.querySelector('meta[name="gatelog-log-key"]');
    const logKey = meta ? meta.content : '';
    if (!window.crypto || !crypto.subtle) {
      fail(list, verdict, 'This browser has no WebCrypto (it needs a secure context: https or localhost).');
      return;
    }
    const ds = section.dataset;
    try {
      const d = {
        index: Number(ds.index),
        size: Number(ds.treeSize),
        leaf: fromBase64(ds.leaf),
        leafHash: ds.leafHash,
        path: ds.proof ? ds.proof.split(' ') : [],
        note: fromBase64(ds.note),
        logKey,
      };
      show(list, verdict, await check(d), 'the entry shown on this page');
    } catch (e) {
      fail(list, verdict, 'The page data could not be read: ' + e.message);
    }
    const button = document.getElementById('verify-api');
    const apiVerdict = document.getElementById('api-verdict');
    const apiList = document.getElementById('api-steps');
    const runApi = async () => {
      apiVerdict.hidden = false;
      apiVerdict.dataset.verdict = 'pending';
      apiVerdict.textContent = 'Fetching…';
      try {
        const d = await fromApi(Number(ds.index));
        d.logKey = logKey;
        show(apiList, apiVerdict, await check(d), 'the entry the JSON API answered');
      } catch (e) {
        fail(apiList, apiVerdict, 'JSON API: ' + e.message);
      }
    };
    button.hidden = false;
    button.addEventListener('click', runApi);
    if (location.hash === '#api') await runApi();
  }

  main();
})();
