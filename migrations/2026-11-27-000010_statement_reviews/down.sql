DROP TABLE statement_reviews;
