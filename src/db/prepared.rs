//! Static SQL that PostgreSQL parses and plans once per connection.
//!
//! `diesel::sql_query` can never be cached: diesel cannot know whether its text was built
//! per call, so every execution is parsed and planned again. The order path's statements
//! are fixed text with array binds (one statement per table for a whole group of orders);
//! `prepared(SQL)` marks such text safe to cache, so diesel keeps it as a named prepared
//! statement on the connection, keyed by the text. Only ever pass text that does not vary
//! per call (a literal, or a `format!` of constants): every distinct text stays cached.

use std::borrow::Cow;

use diesel::pg::Pg;
use std::marker::PhantomData;

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::QueryResult;

/// A statement of fixed text; bind its parameters with `.bind::<Type, _>(value)`.
#[derive(Debug, Clone)]
pub struct Prepared(Cow<'static, str>);

pub fn prepared(sql: impl Into<Cow<'static, str>>) -> Prepared {
    Prepared(sql.into())
}

impl Prepared {
    pub fn bind<ST, Value>(self, value: Value) -> Bound<Self, Value, ST> {
        Bound { query: self, value, _type: PhantomData }
    }
}

/// A `Prepared` statement with its parameters bound so far.
#[derive(Debug, Clone)]
pub struct Bound<Q, Value, ST> {
    query: Q,
    value: Value,
    _type: PhantomData<ST>,
}

impl<Q, Value, ST> Bound<Q, Value, ST> {
    pub fn bind<ST2, Value2>(self, value: Value2) -> Bound<Self, Value2, ST2> {
        Bound { query: self, value, _type: PhantomData }
    }
}

impl<Q, Value, ST> QueryFragment<Pg> for Bound<Q, Value, ST>
where
    Q: QueryFragment<Pg>,
    Pg: HasSqlType<ST>,
    Value: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        // the value only: the text already names it ($1, $2, …)
        out.push_bind_param_value_only::<ST, Value>(&self.value)
    }
}

impl<Q, Value, ST> QueryId for Bound<Q, Value, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, Value, ST> Query for Bound<Q, Value, ST> {
    type SqlType = Untyped;
}

impl<Q, Value, ST, Conn> RunQueryDsl<Conn> for Bound<Q, Value, ST> {}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(&self.0);
        Ok(())
    }
}

impl QueryId for Prepared {
    type QueryId = ();
    // no static id: diesel caches it by its SQL text
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Prepared {}

/// `n` fresh ids of `table`'s serial `id`, ascending: rows written in one statement can then
/// be named (an entry's postings, an order's lines) without relying on RETURNING's order.
pub fn next_ids(conn: &mut diesel::PgConnection, table: &'static str, n: usize) -> QueryResult<Vec<i64>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let sql = match table {
        "orders" => "SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id FROM generate_series(1, $1)",
        "journal_entries" => "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) AS id FROM generate_series(1, $1)",
        _ => return Err(diesel::result::Error::QueryBuilderError(format!("no id sequence for {table}").into())),
    };
    let mut ids: Vec<i64> = prepared(sql).bind::<diesel::sql_types::BigInt, _>(n as i64).load::<Id>(conn)?.into_iter().map(|r| r.id).collect();
    ids.sort_unstable();
    Ok(ids)
}
