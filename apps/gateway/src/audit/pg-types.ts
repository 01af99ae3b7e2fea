/**
 * How the audit code reads PostgreSQL values, set once for the `pg` driver (imported for its effect
 * by every module that queries): int8 columns (token counts, micro-dollars, sequence numbers) as
 * numbers, which they fit in well within 2^53; date columns (spend_daily.day) as "YYYY-MM-DD" text,
 * a UTC day rather than an instant in the process's time zone.
 */
import pg from "pg";

pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
