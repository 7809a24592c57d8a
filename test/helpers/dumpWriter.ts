/**
 * Writes small heap dumps in memwhy's format (docs/dump-format.md) from a
 * description, for the reader's and the analysers' tests: the same bytes
 * src/agent/heapdump.py would write for such a heap.
 */
export interface SyntheticObject {
  type: string;
  size: number;
  /** Referents: indices into the object list, with the writer's edge label if any; a bare number is an address no object has. */
  refs?: (number | { to: number; label?: string } | { address: number })[];
  /** The target's address; by default 0x7f0000000000 + 32 * index. */
  address?: number;
}

export interface SyntheticDump {
  objects: SyntheticObject[];
  roots: number[];
  /** [object index, kind (1 module, 2 module dict, 3 class, 4 class dict, 5 frame, 6 function), text]. */
  labels?: [number, number, string][];
  meta?: Record<string, unknown>;
  /** Leave out the END section, as a file cut short would. */
  truncate?: boolean;
  version?: number;
}

export function addressOf(d: SyntheticDump, i: number): number {
  return d.objects[i]!.address ?? 0x7f0000000000 + 32 * i;
}

export function encodeDump(d: SyntheticDump): Buffer {
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const typeIndex = new Map<string, number>();
  const typeOf = (name: string): number => {
    let t = typeIndex.get(name);
    if (t === undefined) typeIndex.set(name, (t = typeIndex.size));
    return t;
  };
  const n = d.objects.length;
  const addr: bigint[] = [];
  const otyp: number[] = [];
  const size: number[] = [];
  const eoff: number[] = [0];
  const edges: bigint[] = [];
  const elab: number[] = [];
  const bigs: bigint[] = [];
  d.objects.forEach((o, i) => {
    addr.push(BigInt(addressOf(d, i)));
    otyp.push(typeOf(o.type));
    if (o.size >= 0xffffffff) {
      size.push(0xffffffff);
      bigs.push(BigInt(i), BigInt(o.size));
    } else size.push(o.size);
    for (const r of o.refs ?? []) {
      if (typeof r === 'number') edges.push(BigInt(addressOf(d, r)));
      else if ('address' in r) edges.push(BigInt(r.address));
      else {
        if (r.label !== undefined) elab.push(edges.length, str(r.label));
        edges.push(BigInt(addressOf(d, r.to)));
      }
    }
    eoff.push(edges.length);
  });
  const nlab = (d.labels ?? []).flatMap(([i, kind, text]) => [i, kind, str(text)]);
  const typeNames = [...typeIndex.keys()].map(str);
  const meta = {
    format: 'memwhy heap dump',
    version: 1,
    python: '3.11.7',
    implementation: 'cpython',
    pid: 4242,
    pointer_size: 8,
    started_at: 1_800_000_000,
    finished_at: 1_800_000_001,
    pause_ms: 12.5,
    objects: n,
    edges: edges.length,
    gc_tracked: n,
    ...d.meta,
  };

  const parts: Buffer[] = [];
  const header = Buffer.alloc(16);
  header.write('MEMWHYD1', 0, 'latin1');
  header.writeUInt16LE(d.version ?? 1, 8);
  parts.push(header);
  const section = (tag: string, count: number, payload: Buffer): void => {
    const h = Buffer.alloc(16);
    h.write(tag, 0, 'latin1');
    h.writeUInt32LE(count, 4);
    h.writeBigUInt64LE(BigInt(payload.length), 8);
    parts.push(h, payload, Buffer.alloc((8 - (payload.length % 8)) % 8));
  };
  const u32 = (xs: number[]): Buffer => {
    const b = Buffer.alloc(xs.length * 4);
    xs.forEach((x, i) => b.writeUInt32LE(x, i * 4));
    return b;
  };
  const u64 = (xs: bigint[]): Buffer => {
    const b = Buffer.alloc(xs.length * 8);
    xs.forEach((x, i) => b.writeBigUInt64LE(x, i * 8));
    return b;
  };
  section('META', 0, Buffer.from(JSON.stringify(meta)));
  const encoded = strings.map((s) => Buffer.from(s, 'utf8'));
  const offsets = [0];
  for (const e of encoded) offsets.push(offsets[offsets.length - 1]! + e.length);
  section('STRS', strings.length, Buffer.concat([u32(offsets), ...encoded]));
  section('TYPE', typeNames.length, u32(typeNames));
  section('ADDR', n, u64(addr));
  section('OTYP', n, u32(otyp));
  section('SIZE', n, u32(size));
  section('BIGS', bigs.length, u64(bigs));
  section('EOFF', n + 1, u32(eoff));
  section('EDGE', edges.length, u64(edges));
  section('ELAB', elab.length, u32(elab));
  section('ROOT', d.roots.length, u32(d.roots));
  section('NLAB', nlab.length, u32(nlab));
  if (!d.truncate) section('END ', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
