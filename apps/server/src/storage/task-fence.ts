import { ChorusError } from '@chorus/core';

/** The error of a commit (or a fence raise) by a process whose lease on the task was taken over. */
export const fenced = (taskId: string, token: number): ChorusError =>
  new ChorusError('NOT_TASK_OWNER', `task "${taskId}": fencing token ${token} is stale (another server process took the task over); nothing was committed`);
