-- 0030: the recording of a call forwarded without a routing plan (`record_calls`), as the
-- provider's recordingStatusCallback reported it (store_call_recording_put): its URL at the
-- provider ('' = none) and its length in seconds (NULL = not reported). A routed call's
-- recording stays in its routing record (call_routes, 0019). Same SQL on both stores.
ALTER TABLE calls ADD COLUMN recording_url TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN recording_duration BIGINT;
