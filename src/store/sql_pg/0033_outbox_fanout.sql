-- 0033: nothing for PostgreSQL. SQLite's version (sql/0033_outbox_fanout.sql) delivers an event
-- to its destinations by a cursor per destination over the events, which relies on events being
-- committed in the order of their ids: true of SQLite's one writer, not of several nodes'
-- concurrent transactions (a cursor could pass an event whose transaction commits later, and
-- the event would never be sent). PostgreSQL keeps a row per destination (sql_pg/0032), so
-- store_outbox_publish writes what store_outbox_add_many does.
SELECT 1;
