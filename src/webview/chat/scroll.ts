// Scroll following for the message list: a change made while the list is scrolled to the bottom
// keeps it there (the stream stays in view); once the user scrolls up, changes leave the position
// alone until they scroll back down or send a message.

/** How far from the bottom (CSS px) still counts as "at the bottom". */
export const FOLLOW_SLACK_PX = 24;

export class ScrollFollower {
  private forced = false;

  constructor(private readonly list: HTMLElement) {}

  /** Whether the list is scrolled to its end (within FOLLOW_SLACK_PX). */
  atBottom(): boolean {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight <= FOLLOW_SLACK_PX;
  }

  /** The next update scrolls to the end whatever the position (after the user sends). */
  follow(): void {
    this.forced = true;
  }

  /** Runs a DOM change of the list; scrolls to the end afterwards if it was there before. */
  update(change: () => void): void {
    const stick = this.forced || this.atBottom();
    this.forced = false;
    change();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }
}
