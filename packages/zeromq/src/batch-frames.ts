import { DecodeError } from '@switchyard/core';
import type { MessageLike } from 'zeromq';
import type { Frames } from './socket-writer.ts';

/**
 * Several queries (producer → consumer) or several replies (consumer → producer) in one ZeroMQ
 * message: one frame (after the Router's routing id) that starts with `BATCH_V1`, then for each
 * entry a 6-byte header — id length (uint16, big-endian), data length (uint32, big-endian) — the
 * id's UTF-8 bytes and the data. A single query or reply is two frames, `[id, data]`, so a batch —
 * one frame — can never be mistaken for one, and one frame keeps the per-frame cost of zeromq.js
 * out of the loop. The version is in the frame: a side that meets another version reports a
 * `DecodeError` instead of guessing.
 */
export const BATCH_V1 = '\u0000switchyard-batch/1';
const PREFIX = Buffer.from('\u0000switchyard-batch/');
const V1 = Buffer.from(BATCH_V1);
const HEADER = 6;

/** One entry of a batch: the id (correlation) bytes and the data. */
export interface BatchEntry {
  readonly id: Buffer;
  readonly data: Buffer;
}

/**
 * Whether `frames` (after `from` routing frames) are a batch: one frame starting with the batch
 * prefix. Throws `DecodeError` for a batch of another version.
 */
export function isBatch(frames: readonly Buffer[], from: number): boolean {
  if (frames.length - from !== 1) return false;
  const frame = frames[from]!;
  if (frame.length < PREFIX.length || frame.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0)
    return false;
  if (frame.length < V1.length || frame.compare(V1, 0, V1.length, 0, V1.length) !== 0) {
    const version = frame
      .subarray(PREFIX.length, Math.min(frame.length, PREFIX.length + 16))
      .toString('utf8');
    throw new DecodeError(`Unsupported ZeroMQ batch version "${version}"; this side reads version 1`);
  }
  return true;
}

/** The entries of a batch frame (views into it); `DecodeError` when an entry runs past its end. */
export function readBatch(frame: Buffer): BatchEntry[] {
  const entries: BatchEntry[] = [];
  let offset = V1.length;
  while (offset < frame.length) {
    if (offset + HEADER > frame.length) throw new DecodeError('A ZeroMQ batch entry is cut short');
    const idLength = frame.readUInt16BE(offset);
    const dataLength = frame.readUInt32BE(offset + 2);
    const idStart = offset + HEADER;
    const dataStart = idStart + idLength;
    offset = dataStart + dataLength;
    if (offset > frame.length) throw new DecodeError('A ZeroMQ batch entry is cut short');
    entries.push({ id: frame.subarray(idStart, dataStart), data: frame.subarray(dataStart, offset) });
  }
  return entries;
}

/**
 * Joins writes of `[id, data]` frames — `[routing id, id, data]` when `routed`, all to the same
 * routing id — into one batch message: `[batch]`, or `[routing id, batch]`.
 */
export function joinBatch(writes: readonly Frames[], routed: boolean): Frames {
  const skip = routed ? 1 : 0;
  // Strings are written in place: room for their UTF-8 worst case, then cut to what was written.
  let room = V1.length;
  for (const write of writes as readonly (readonly MessageLike[])[]) {
    room += HEADER + roomOf(write[skip]) + roomOf(write[skip + 1]);
  }
  const batch = Buffer.allocUnsafe(room);
  let offset = V1.copy(batch, 0);
  for (const write of writes as readonly (readonly MessageLike[])[]) {
    const idStart = offset + HEADER;
    const dataStart = idStart + put(batch, idStart, write[skip]);
    const end = dataStart + put(batch, dataStart, write[skip + 1]);
    batch.writeUInt16BE(dataStart - idStart, offset);
    batch.writeUInt32BE(end - dataStart, offset + 2);
    offset = end;
  }
  const frame = batch.subarray(0, offset);
  return routed ? [(writes[0] as readonly MessageLike[])[0]!, frame] : [frame];
}

function roomOf(frame: MessageLike | undefined): number {
  if (typeof frame === 'string') return frame.length * 3;
  if (ArrayBuffer.isView(frame)) return frame.byteLength;
  throw new TypeError('A batch entry must be a string or bytes');
}

function put(batch: Buffer, offset: number, frame: MessageLike | undefined): number {
  if (typeof frame === 'string') return batch.write(frame, offset, 'utf8');
  const bytes = frame as ArrayBufferView;
  batch.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
  return bytes.byteLength;
}
