DROP INDEX agents_phone_prefix;
DROP INDEX agents_name_trgm;
