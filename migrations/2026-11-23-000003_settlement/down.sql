DROP TABLE period_exports;
DROP TABLE statements;
DROP TABLE periods;
