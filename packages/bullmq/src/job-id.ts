/**
 * The BullMQ job id for a message id. BullMQ refuses custom ids that are plain integers or contain
 * `:` (its key separator). A UUID — what `create()` gives every message — is used unchanged; any
 * other id that BullMQ would refuse (or that contains `%`) is percent-escaped behind a leading `%`.
 * The mapping is one-to-one, so two messages never share a job id and a re-sent message always gets
 * the same one.
 */
export function toJobId(messageId: string): string {
  const safe =
    !messageId.includes(':') && !messageId.includes('%') && `${Number.parseInt(messageId, 10)}` !== messageId;
  if (safe) return messageId;
  return `%${messageId.replaceAll('%', '%25').replaceAll(':', '%3A')}`;
}
