// SPDX-License-Identifier: AGPL-3.0-or-later
// The live feed: GET /v1/stream as Server-Sent Events with the session cookie (EventSource sends
// it: same origin). The server scopes the stream to the account the session looks at and masks
// it for viewers; it ends the stream at logout or a switch of account. EventSource reconnects by
// itself; the stream has no replay, so each (re)connection calls onOpen, which catches up with
// the calls API.
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Subscribes while mounted: onCall(call, event) for call.started / call.completed, onOpen() when
 * the stream (re)connects. Returns the connection state: 'connecting' | 'live' | 'retrying'.
 */
export function useLiveCalls(onCall, onOpen) {
  const cb = useRef({ onCall, onOpen });
  cb.current = { onCall, onOpen };
  const [state, setState] = useState('connecting');
  useEffect(() => {
    if (typeof EventSource === 'undefined') { setState('retrying'); return undefined; }
    const es = new EventSource('/v1/stream');
    const onEvent = (ev) => {
      let call = null;
      try { call = JSON.parse(ev.data); } catch (e) { return; }
      cb.current.onCall(call, ev.type);
    };
    es.addEventListener('call.started', onEvent);
    es.addEventListener('call.completed', onEvent);
    es.onopen = () => { setState('live'); cb.current.onOpen(); };
    es.onerror = () => setState('retrying');
    return () => es.close();
  }, []);
  return state;
}
