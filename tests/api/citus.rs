//! The schema fits Citus with `brand_id` as the distribution column (docs/operations.md):
//! every table carries `brand_id`, and every primary key, unique key and foreign key of a
//! distributed table includes it — so each brand's rows live together on one worker and
//! every constraint is checked there. The reference tables (copied to every worker) are
//! named: `brands`, and the two public lookups by a random code that carry no brand
//! (`invite_codes`, `certificates`). A new table or key that breaks this fails here.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::helpers::spawn_app;

const REFERENCE: [&str; 3] = ["brands", "invite_codes", "certificates"];

#[tokio::test]
async fn the_schema_fits_citus_with_brand_id_as_the_distribution_column() {
    let app = spawn_app().await;
    let pool = app.pool.clone();
    let (tables_without, keys_without) = tokio::task::spawn_blocking(move || {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            what: String,
        }
        let mut conn = pool.get().unwrap();
        let tables: Vec<Row> = diesel::sql_query(
            "SELECT t.table_name AS what FROM information_schema.tables t
              WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND t.table_name NOT LIKE '\\_\\_diesel%'
                AND NOT EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name = t.table_name AND c.column_name = 'brand_id')
              ORDER BY 1",
        )
        .load(&mut conn)
        .unwrap();
        // constraints and unique indexes without brand_id, with the table they point to
        let keys: Vec<Row> = diesel::sql_query(
            "SELECT r.relname || ' ' || c.contype::text || ' ' || c.conname || ' -> ' || coalesce(f.relname::text, '') AS what
               FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
               LEFT JOIN pg_class f ON f.oid = c.confrelid
              WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f') AND r.relname NOT LIKE '\\_\\_diesel%'
                AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) AND a.attname = 'brand_id')
             UNION ALL
             SELECT r.relname || ' unique index ' || x.relname || ' -> ' AS what
               FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = r.relnamespace
              WHERE n.nspname = 'public' AND i.indisunique AND r.relname NOT LIKE '\\_\\_diesel%'
                AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) AND a.attname = 'brand_id')
             ORDER BY 1",
        )
        .load(&mut conn)
        .unwrap();
        (tables.into_iter().map(|r| r.what).collect::<Vec<_>>(), keys.into_iter().map(|r| r.what).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert_eq!(tables_without, vec!["brands".to_owned()], "every table but the tenants themselves carries brand_id");
    // a key without brand_id is fine on a reference table, and a foreign key may point at one
    let offending: Vec<&String> = keys_without
        .iter()
        .filter(|k| {
            let mut parts = k.split(' ');
            let table = parts.next().unwrap_or_default();
            let target = k.rsplit(" -> ").next().unwrap_or_default();
            !REFERENCE.contains(&table) && !REFERENCE.contains(&target)
        })
        .collect();
    assert!(offending.is_empty(), "keys of distributed tables without brand_id: {offending:?}");
    assert!(keys_without.iter().any(|k| k.starts_with("invite_codes p")), "the check sees keys at all: {keys_without:?}");
}
