import { NextResponse, type NextRequest } from 'next/server.js';
import { createFrameAncestorsLookup } from './app/embed/frame/frame-ancestors.js';
import { readPageConfig } from './lib/config.js';

const lookup = createFrameAncestorsLookup({ serverUrl: readPageConfig().serverUrl });

/** /embed/frame may only be framed by the origins its partner key allows (CSP frame-ancestors). */
export async function proxy(request: NextRequest): Promise<NextResponse> {
  const key = request.nextUrl.searchParams.get('key') ?? '';
  const response = NextResponse.next();
  response.headers.set('Content-Security-Policy', key ? await lookup.policyFor(key) : "frame-ancestors 'none'");
  return response;
}

export const config = { matcher: '/embed/frame' };
