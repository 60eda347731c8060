// Test-only writer for QuARI checkpoint folders in the format torch.save(state_dict) produces: a zip archive with
// *stored* entries (payloads 64-byte aligned through an 'FB' padding extra field), `<folder>/data.pkl` holding a
// protocol-2 pickle of an OrderedDict key → _rebuild_tensor_v2(persistent-id storage, 0, size, stride, False,
// OrderedDict()), then the `_metadata` state set by BUILD, as torch 1.13 writes it; `<folder>/data/<n>` raw float32 LE.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface StateDictEntry {
  key: string;
  shape: number[];
  data: Float32Array;
}

class PickleWriter {
  private readonly bytes: number[] = [];
  private readonly memo = new Map<string, number>();

  op(code: number): this {
    this.bytes.push(code);
    return this;
  }

  int(n: number): this {
    if (n >= 0 && n < 0x100) this.bytes.push(0x4b, n); // BININT1
    else if (n >= 0 && n < 0x10000) this.bytes.push(0x4d, n & 0xff, n >> 8); // BININT2
    else this.bytes.push(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff); // BININT
    return this;
  }

  str(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    this.bytes.push(0x58, utf8.length & 0xff, (utf8.length >> 8) & 0xff, (utf8.length >> 16) & 0xff, utf8.length >>> 24, ...utf8); // BINUNICODE
    return this.put();
  }

  /** GLOBAL, memoised the first time and fetched with BINGET afterwards, as pickle does. */
  global(module: string, name: string): this {
    const id = `${module} ${name}`;
    const at = this.memo.get(id);
    if (at !== undefined) {
      this.bytes.push(0x68, at); // BINGET
      return this;
    }
    this.bytes.push(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)); // GLOBAL
    this.memo.set(id, this.memoSize);
    return this.put();
  }

  private memoSize = 0;

  /** BINPUT (LONG_BINPUT past 255) of the top of stack. */
  put(): this {
    const i = this.memoSize++;
    if (i < 0x100) this.bytes.push(0x71, i);
    else this.bytes.push(0x72, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, i >>> 24);
    return this;
  }

  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29); // EMPTY_TUPLE
    if (items.length > 3) {
      this.op(0x28); // MARK
      for (const n of items) this.int(n);
      return this.op(0x74).put(); // TUPLE
    }
    for (const n of items) this.int(n);
    return this.op([0x85, 0x86, 0x87][items.length - 1]).put(); // TUPLE1/2/3
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A state_dict record as the pickle describes it: which storage, how many elements it has, and the view into it. */
export interface RawTensor {
  key: string;
  storage: string;
  /** Elements the storage declares (the persistent id's numel). */
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

function statePickle(entries: RawTensor[]): Uint8Array {
  const p = new PickleWriter();
  p.op(0x80).op(2); // PROTO 2
  const emptyOrderedDict = (): void => {
    p.global('collections', 'OrderedDict').op(0x29).op(0x52).put(); // OrderedDict() via EMPTY_TUPLE, REDUCE
  };
  emptyOrderedDict();
  p.op(0x28); // MARK
  for (const e of entries) {
    p.str(e.key).global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28).op(0x28); // MARK (args), MARK (persistent id)
    p.str('storage').global('torch', 'FloatStorage').str(e.storage).str('cpu').int(e.numel);
    p.op(0x74).put().op(0x51); // TUPLE, BINPERSID
    p.int(e.offset).tuple(e.shape).tuple(e.stride).op(0x89); // offset, size, stride, NEWFALSE (requires_grad)
    emptyOrderedDict(); // backward_hooks
    p.op(0x74).put().op(0x52).put(); // TUPLE, REDUCE
  }
  p.op(0x75); // SETITEMS
  // state {'_metadata': OrderedDict({'': {'version': 1}})}, applied with BUILD
  p.op(0x7d).put().str('_metadata');
  emptyOrderedDict();
  p.op(0x28).str('').op(0x7d).put().str('version').int(1).op(0x73).op(0x75); // MARK '' {version: 1} SETITEM SETITEMS
  p.op(0x73).op(0x62).op(0x2e); // SETITEM, BUILD, STOP
  return p.finish();
}

/** Stored-entry zip with 64-byte-aligned payloads and a central directory. */
export function storedZip(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = new TextEncoder().encode(f.name);
    const base = offset + 30 + name.length;
    let extraLen = 0;
    if (base % 64 !== 0) extraLen = 64 - (base % 64);
    if (extraLen > 0 && extraLen < 4) extraLen += 64; // an extra field needs its 4-byte header
    const local = new Uint8Array(30 + name.length + extraLen);
    const lv = new DataView(local.buffer);
    const crc = crc32(f.data);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, 0, true); // stored
    lv.setUint32(14, crc, true);
    lv.setUint32(18, f.data.length, true);
    lv.setUint32(22, f.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extraLen, true);
    local.set(name, 30);
    if (extraLen > 0) {
      local.set([0x46, 0x42], 30 + name.length); // 'FB', torch's padding field id
      lv.setUint16(30 + name.length + 2, extraLen - 4, true);
      local.fill(0x5a, 30 + name.length + 4); // 'Z'
    }
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, f.data.length, true);
    cv.setUint32(24, f.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    chunks.push(local, f.data);
    central.push(cd);
    offset += local.length + f.data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const c of [...chunks, ...central, eocd]) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** torch.save(state_dict) bytes; `folder` is the archive's top folder (the file stem for torch ≥ 1.6). */
export function torchSaveStateDict(entries: StateDictEntry[], folder = 'archive'): Uint8Array {
  for (const e of entries) {
    if (e.data.length !== e.shape.reduce((a, b) => a * b, 1)) throw new Error(`torchSaveStateDict: ${e.key} data does not fill its shape`);
  }
  const asBytes = (d: Float32Array): Uint8Array => new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
  const raw = entries.map((e, n): RawTensor => ({
    key: e.key, storage: String(n), numel: e.data.length, offset: 0, shape: e.shape,
    stride: e.shape.map((_, i) => e.shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  }));
  return torchSaveRaw(raw, Object.fromEntries(entries.map((e, n) => [String(n), asBytes(e.data)])), folder);
}

/** torch.save bytes for records written as given (hostile ones too: any shape, stride, offset or storage size). */
export function torchSaveRaw(tensors: RawTensor[], storages: Record<string, Uint8Array>, folder = 'archive'): Uint8Array {
  return storedZip([
    { name: `${folder}/data.pkl`, data: statePickle(tensors) },
    { name: `${folder}/byteorder`, data: new TextEncoder().encode('little') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${folder}/data/${k}`, data })),
    { name: `${folder}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}

/** Writes config.yml (hparams in the given key order, snake_case) and weights.pt into `dir`. */
export function writeQuariCheckpoint(dir: string, hparams: [string, number | boolean][], entries: StateDictEntry[], featureExtractor = 'test/none'): void {
  const yml = `hparams:\n${hparams.map(([k, v]) => `  ${k}: ${v}`).join('\n')}\nfeature_extractor: ${featureExtractor}\n`;
  writeFileSync(join(dir, 'config.yml'), yml);
  writeFileSync(join(dir, 'weights.pt'), torchSaveStateDict(entries, 'weights'));
}
