// Located problems found while compiling (`variants/x.yaml:12:5: ...`). They are collected, not
// thrown, so one run reports every mistake in a variant instead of the first.

export class Problems {
  readonly messages: string[] = [];

  add(message: string): void {
    if (!this.messages.includes(message)) this.messages.push(message);
  }

  get count(): number {
    return this.messages.length;
  }
}
