/**
 * The requests a session has sent and not yet had answered, by xid, in the order sent.
 *
 * Not a Map: a Map whose keys keep changing (a new xid in, an answered one out) rehashes into
 * a new table every few dozen requests, and V8 links each table it leaves to the one that
 * replaces it. Once one of those tables has lived long enough to be in the old generation,
 * that link keeps the next table alive through every scavenge, and with it each request it
 * held (its promise, its reply), and so on down the chain until a full collection: measured
 * in process, a third of what reads allocate survived each scavenge that way. Here a slot is
 * cleared when its request is answered and nothing points from one array to the next.
 *
 * Replies come back in the order their requests were sent, so the answered request is
 * nearly always the oldest: it is found at once. Only a reply that overtook others (auth is
 * answered ahead of the session's queue) or one for a request no longer waiting looks
 * further, through the requests in flight.
 */
export class PendingRequests<T> {
  private xids: number[] = [];
  private items: (T | undefined)[] = [];
  /** The first slot that may still hold a request; the ones before it are answered. */
  private head = 0;
  private count = 0;

  /** How many requests wait. */
  get size(): number {
    return this.count;
  }

  /** A request sent with `xid`, answered after every one added before it. */
  add(xid: number, item: T): void {
    this.xids.push(xid);
    this.items.push(item);
    this.count++;
  }

  /** Removes the request sent with `xid` and returns it; undefined when none waits. */
  take(xid: number): T | undefined {
    const items = this.items;
    const xids = this.xids;
    for (let index = this.head; index < items.length; index++) {
      if (xids[index] !== xid) continue;
      const item = items[index];
      if (item === undefined) continue;
      items[index] = undefined;
      this.count--;
      this.advance();
      return item;
    }
    return undefined;
  }

  /** Removes every waiting request and returns them, in the order they were sent. */
  takeAll(): T[] {
    const all: T[] = [];
    for (let index = this.head; index < this.items.length; index++) {
      const item = this.items[index];
      if (item !== undefined) all.push(item);
    }
    this.reset();
    return all;
  }

  /** Moves the head past answered slots, and lets the arrays go back to empty or shrink. */
  private advance(): void {
    if (this.count === 0) {
      this.reset();
      return;
    }
    const items = this.items;
    let head = this.head;
    while (items[head] === undefined) head++;
    this.head = head;
    // A request that waits long (a watch-like read, a slow write) must not keep every slot
    // after it: once most of the arrays are answered slots, they move down.
    if (head >= 1024 && head * 2 >= items.length) {
      items.copyWithin(0, head);
      this.xids.copyWithin(0, head);
      items.length -= head;
      this.xids.length -= head;
      this.head = 0;
    }
  }

  private reset(): void {
    this.items.length = 0;
    this.xids.length = 0;
    this.head = 0;
    this.count = 0;
  }
}
