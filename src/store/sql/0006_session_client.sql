-- opendni schema v6: the client each session came from (core/client.h: an IPv4 address, or an
-- IPv6 /64), recorded when the session is created, so that attribution weighs the sessions of
-- one client as one voice (issue #12: a flood from one address cannot outvote a real visitor).
-- Sessions stored before have NULL: an unknown client, grouped with nobody. Portable SQL.
ALTER TABLE sessions ADD COLUMN client_key TEXT;
