'use client';

import { useParams } from 'next/navigation.js';
import { TaskLive } from '../../_components/task-live.js';

export default function TaskPage() {
  const params = useParams<{ id: string }>();
  return <TaskLive taskId={decodeURIComponent(params.id)} />;
}
