// Restricted unpickler for torch.save state_dicts. It interprets only the opcodes a state_dict uses and builds plain
// data: nothing from the file is ever called, imported or evaluated. Globals are checked against an allow-list the
// moment they are named, so a pickle that mentions e.g. os.system is refused before any of its other opcodes run.

export type StorageDtype = 'float32' | 'float16' | 'bfloat16';

/** The persistent id `('storage', torch.XStorage, key, location, numel)`: storage `key` lives in `<prefix>/data/<key>`. */
export interface StorageRef {
  kind: 'storage';
  key: string;
  dtype: StorageDtype;
  location: string;
  numel: number;
}

/** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`, in elements. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

interface PickleGlobal {
  kind: 'global';
  name: string;
}

type PickleValue =
  | null
  | boolean
  | number
  | string
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickleGlobal
  | StorageRef
  | TensorRef;

const ORDERED_DICT = 'collections.OrderedDict';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const STORAGE_TYPES: Record<string, StorageDtype> = {
  'torch.FloatStorage': 'float32',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
};
const ALLOWED_GLOBALS = new Set([ORDERED_DICT, REBUILD_TENSOR, ...Object.keys(STORAGE_TYPES)]);

const isGlobal = (v: PickleValue, name?: string): v is PickleGlobal =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && v.kind === 'global' &&
  (name === undefined || v.name === name);

const isInt = (v: PickleValue): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * Unpickles `bytes` (protocol 2..5) into a state_dict: an ordered map from key to tensor reference.
 * `file` names the pickle in error messages.
 */
export function unpickleStateDict(bytes: Uint8Array, file: string): Map<string, TensorRef> {
  let root: PickleValue;
  try {
    root = unpickle(bytes, file);
  } catch (err) {
    // our own errors already name the file; anything else (a RangeError from the engine) must name it too
    const message = (err as Error).message;
    throw message.startsWith(`${file}: `) ? err : new Error(`${file}: unreadable pickle (${message})`);
  }
  if (!(root instanceof Map)) throw new Error(`${file}: pickle does not hold a dict (not a state_dict)`);
  const out = new Map<string, TensorRef>();
  for (const [key, value] of root) {
    if (typeof key !== 'string') throw new Error(`${file}: state_dict has a non-string key`);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Map || value.kind !== 'tensor') {
      throw new Error(`${file}: state_dict entry ${key} is not a tensor`);
    }
    out.set(key, value);
  }
  return out;
}

function unpickle(bytes: Uint8Array, file: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const fail = (why: string): never => { throw new Error(`${file}: ${why}`); };

  let pos = 0;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const need = (n: number): number => {
    if (pos + n > bytes.length) fail('pickle ends unexpectedly');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const n = view.getBigUint64(need(8), true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail('pickle length field is too large');
    return Number(n);
  };
  const str = (n: number): string => utf8.decode(bytes.subarray(need(n), pos));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('pickle ends unexpectedly');
    const s = str(end - pos);
    pos++;
    return s;
  };
  const pop = (): PickleValue => (stack.length ? stack.pop()! : fail('pickle stack underflow'));
  const top = (): PickleValue => (stack.length ? stack[stack.length - 1] : fail('pickle stack underflow'));
  const popMark = (): PickleValue[] => {
    const items = stack;
    stack = marks.pop() ?? fail('pickle MARK missing');
    return items;
  };
  const global = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      fail(`refusing pickle global ${full}: only ${[...ALLOWED_GLOBALS].join(', ')} are allowed`);
    }
    return { kind: 'global', name: full };
  };
  const dictTarget = (): Map<PickleValue, PickleValue> => {
    const d = top();
    return d instanceof Map ? d : fail('pickle SETITEM on a non-dict');
  };
  const listTarget = (): PickleValue[] => {
    const l = top();
    return Array.isArray(l) ? l : fail('pickle APPEND on a non-list');
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: return stack.length === 1 ? stack[0] : fail('pickle STOP with a malformed stack'); // STOP
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x29: case 0x5d: stack.push([]); break; // EMPTY_TUPLE, EMPTY_LIST
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        const b = bytes.subarray(need(n), pos);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) fail('pickle integer is too large');
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x74: { const items = popMark(); stack.push(items); break; } // TUPLE (popMark swaps `stack`)
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const idx = op === 0x68 ? u8() : u32();
        if (!memo.has(idx)) fail(`pickle refers to unknown memo slot ${idx}`);
        stack.push(memo.get(idx)!);
        break;
      }
      case 0x63: { const module = line(); stack.push(global(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('pickle STACK_GLOBAL without strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: stack.push(persistentLoad(pop(), fail)); break; // BINPERSID
      case 0x52: { const args = pop(); stack.push(reduce(pop(), args, fail)); break; } // REDUCE
      case 0x62: { // BUILD: only OrderedDict's `_metadata` attribute, which we drop
        pop();
        if (!(top() instanceof Map)) fail('pickle BUILD on something other than a dict');
        break;
      }
      case 0x73: { const v = pop(), k = pop(); dictTarget().set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('pickle SETITEMS with an odd item count');
        const d = dictTarget();
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { const v = pop(); listTarget().push(v); break; } // APPEND
      case 0x65: { // APPENDS, one push at a time: spreading 300k items into push() overflows the call stack
        const items = popMark();
        const l = listTarget();
        for (const item of items) l.push(item);
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}

function persistentLoad(pid: PickleValue, fail: (why: string) => never): StorageRef {
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') fail('pickle has an unsupported persistent id');
  const [, type, key, location, numel] = pid as PickleValue[];
  if (!isGlobal(type) || !(type.name in STORAGE_TYPES)) fail('pickle persistent id does not name a storage type');
  if (typeof key !== 'string' || typeof location !== 'string' || !isInt(numel) || numel < 0) {
    fail('pickle has a malformed storage persistent id');
  }
  return { kind: 'storage', key: key as string, dtype: STORAGE_TYPES[(type as PickleGlobal).name], location: location as string, numel: numel as number };
}

function reduce(callable: PickleValue, args: PickleValue, fail: (why: string) => never): PickleValue {
  if (!Array.isArray(args)) fail('pickle REDUCE without an argument tuple');
  const a = args as PickleValue[];
  if (isGlobal(callable, ORDERED_DICT)) {
    if (a.length !== 0) fail('pickle builds an OrderedDict from arguments');
    return new Map();
  }
  if (isGlobal(callable, REBUILD_TENSOR)) {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, shape, stride] = a;
    const ints = (v: PickleValue): v is number[] => Array.isArray(v) && v.every((x) => isInt(x) && x >= 0);
    if (a.length < 6 || typeof storage !== 'object' || storage === null || Array.isArray(storage) ||
        storage instanceof Map || storage.kind !== 'storage' || !isInt(offset) || offset < 0 ||
        !ints(shape) || !ints(stride) || shape.length !== stride.length) {
      fail('pickle has a malformed _rebuild_tensor_v2 call');
    }
    return { kind: 'tensor', storage: storage as StorageRef, offset: offset as number, shape: shape as number[], stride: stride as number[] };
  }
  return fail('pickle REDUCE on something that is not an allowed callable');
}
