// Kept in step with migrations/ by hand (the shape `diesel print-schema` writes); every
// query in the test suite runs against the migrated database, so a drift fails there.

diesel::table! {
    brands (id) {
        id -> Int8,
        code -> Text,
        name -> Text,
        supply_mode -> Text,
        timezone -> Text,
        hq_stock_tracking -> Bool,
        buyback_ratio -> Numeric,
        hold_days -> Int4,
        jurisdiction -> Text,
        created_at -> Timestamptz,
        price_floor_mode -> Text,
        min_retail_share -> Numeric,
        withdrawal_min -> Numeric,
        withdrawal_max -> Numeric,
        withdrawal_fee_rate -> Numeric,
        withdrawal_fee_min -> Numeric,
        withholding_tax_rate -> Numeric,
        application_approval -> Text,
        application_days -> Int4,
        upgrade_mode -> Text,
        retail_ceiling_factor -> Numeric,
        retail_max_units -> Int4,
        retail_max_sellers -> Int4,
        retail_late_days -> Int4,
    }
}

diesel::table! {
    hq_users (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        login -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        role -> Text,
        name -> Text,
        active -> Bool,
    }
}

diesel::table! {
    tiers (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        rank -> Int4,
        name -> Text,
        min_first_order -> Nullable<Numeric>,
    }
}

diesel::table! {
    products (brand_id, sku) {
        brand_id -> Int8,
        sku -> Text,
        name -> Text,
        retail_price -> Numeric,
        created_at -> Timestamptz,
        retail_floor -> Nullable<Numeric>,
        on_sale -> Bool,
        repurchase_days -> Nullable<Int4>,
    }
}

diesel::table! {
    product_prices (brand_id, sku, tier_id) {
        brand_id -> Int8,
        sku -> Text,
        tier_id -> Int8,
        price -> Numeric,
    }
}

diesel::table! {
    agents (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        name -> Text,
        phone -> Text,
        tier_id -> Int8,
        parent_id -> Nullable<Int8>,
        sponsor_id -> Nullable<Int8>,
        path -> Array<Int8>,
        status -> Text,
        password_hash -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    agent_events (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        agent_id -> Int8,
        kind -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        actor -> Text,
        at -> Timestamptz,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (brand_id, token_hash) {
        brand_id -> Int8,
        token_hash -> Bytea,
        role -> Text,
        hq_user_id -> Nullable<Int8>,
        agent_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (brand_id, login, source) {
        brand_id -> Int8,
        login -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        source -> Text,
    }
}

diesel::table! {
    idempotency_keys (brand_id, principal, key) {
        brand_id -> Int8,
        principal -> Text,
        key -> Text,
        request_hash -> Bytea,
        status_code -> Int4,
        response_body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    plan_versions (brand_id, version) {
        brand_id -> Int8,
        version -> Int4,
        effective_from -> Timestamptz,
        body -> Jsonb,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    orders (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        kind -> Text,
        buyer_id -> Nullable<Int8>,
        seller_id -> Nullable<Int8>,
        customer_name -> Nullable<Text>,
        customer_phone -> Nullable<Text>,
        amount -> Numeric,
        placed_at -> Timestamptz,
        plan_version -> Nullable<Int4>,
        created_by -> Text,
        created_at -> Timestamptz,
        buyer_tier_id -> Nullable<Int8>,
        upline -> Nullable<Array<Int8>>,
        upline_tiers -> Nullable<Array<Int8>>,
        upline_active -> Nullable<Array<Bool>>,
        sponsor_id -> Nullable<Int8>,
        sponsor_active -> Nullable<Bool>,
        first_purchase -> Bool,
    }
}

diesel::table! {
    first_purchases (brand_id, buyer_id) {
        brand_id -> Int8,
        buyer_id -> Int8,
        claimed_at -> Timestamptz,
    }
}

diesel::table! {
    period_reports (brand_id, month, kind) {
        brand_id -> Int8,
        month -> Text,
        kind -> Text,
        body -> Jsonb,
    }
}

diesel::table! {
    order_lines (brand_id, order_id, line_no) {
        brand_id -> Int8,
        order_id -> Int8,
        line_no -> Int4,
        sku -> Text,
        qty -> Int4,
        unit_price -> Numeric,
        amount -> Numeric,
        seller_unit_cost -> Nullable<Numeric>,
        below_floor -> Bool,
    }
}

diesel::table! {
    refunds (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        order_id -> Int8,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refund_lines (brand_id, refund_id, line_no) {
        brand_id -> Int8,
        refund_id -> Int8,
        order_id -> Int8,
        line_no -> Int4,
        qty -> Int4,
        amount -> Numeric,
    }
}

diesel::table! {
    stock (brand_id, agent_id, sku) {
        brand_id -> Int8,
        agent_id -> Int8,
        sku -> Text,
        qty -> Int8,
        avg_cost -> Numeric,
    }
}

diesel::table! {
    hq_stock (brand_id, sku) {
        brand_id -> Int8,
        sku -> Text,
        qty -> Int8,
    }
}

diesel::table! {
    stock_moves (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        kind -> Text,
        sku -> Text,
        from_agent -> Nullable<Int8>,
        to_agent -> Nullable<Int8>,
        qty -> Int8,
        unit_cost -> Numeric,
        order_id -> Nullable<Int8>,
        refund_id -> Nullable<Int8>,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    journal_entries (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        kind -> Text,
        order_id -> Nullable<Int8>,
        refund_id -> Nullable<Int8>,
        withdrawal_id -> Nullable<Int8>,
        occurred_at -> Timestamptz,
        memo -> Nullable<Text>,
        created_by -> Text,
        posted_at -> Timestamptz,
        wallet_cuts -> Nullable<Numeric>,
    }
}

diesel::table! {
    postings (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        entry_id -> Int8,
        account -> Text,
        agent_id -> Nullable<Int8>,
        amount -> Numeric,
        split_kind -> Nullable<Text>,
        order_id -> Nullable<Int8>,
        line_no -> Nullable<Int4>,
        generation -> Nullable<Int4>,
        occurred_at -> Timestamptz,
        available_at -> Timestamptz,
        entry_kind -> Text,
    }
}

diesel::table! {
    withdrawals (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        agent_id -> Int8,
        amount -> Numeric,
        status -> Text,
        requested_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        reason -> Nullable<Text>,
        fee -> Numeric,
        tax -> Numeric,
        payee_method -> Nullable<Text>,
        payee_name -> Nullable<Text>,
        payee_account -> Nullable<Text>,
        payee_bank -> Nullable<Text>,
        requested_by -> Nullable<Text>,
        batch_no -> Nullable<Int4>,
        exported_at -> Nullable<Timestamptz>,
        paid_at -> Nullable<Timestamptz>,
        paid_by -> Nullable<Text>,
        reference -> Nullable<Text>,
        failed_at -> Nullable<Timestamptz>,
        failed_by -> Nullable<Text>,
        failure -> Nullable<Text>,
    }
}

diesel::table! {
    periods (brand_id, month) {
        brand_id -> Int8,
        month -> Text,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        closed_at -> Timestamptz,
        closed_by -> Text,
        rebate_entry_id -> Nullable<Int8>,
    }
}

diesel::table! {
    statements (brand_id, month, agent_id) {
        brand_id -> Int8,
        month -> Text,
        agent_id -> Int8,
        opening_balance -> Numeric,
        proceeds -> Numeric,
        differential -> Numeric,
        peer_bonus -> Numeric,
        referral_bonus -> Numeric,
        team_rebate -> Numeric,
        clawbacks -> Numeric,
        withdrawals -> Numeric,
        other -> Numeric,
        closing_balance -> Numeric,
        team_volume -> Numeric,
        purchases_amount -> Numeric,
        purchases_units -> Int8,
        internal_sales_amount -> Numeric,
        internal_sales_units -> Int8,
        retail_sales_amount -> Numeric,
        retail_sales_units -> Int8,
        path -> Nullable<Array<Int8>>,
        tier_id -> Nullable<Int8>,
        status -> Nullable<Text>,
        payable -> Nullable<Numeric>,
        tree_pos -> Nullable<Int8>,
        team_end -> Nullable<Int8>,
    }
}

diesel::table! {
    period_exports (brand_id, month, format) {
        brand_id -> Int8,
        month -> Text,
        format -> Text,
        content -> Bytea,
        sha256 -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    agent_exits (brand_id, agent_id) {
        brand_id -> Int8,
        agent_id -> Int8,
        journal_entry_id -> Nullable<Int8>,
        response -> Text,
        exited_at -> Timestamptz,
        exited_by -> Text,
    }
}

diesel::table! {
    agent_month_purchases (brand_id, month, agent_id) {
        brand_id -> Int8,
        month -> Text,
        agent_id -> Int8,
        path -> Array<Int8>,
        units -> Int8,
        amount -> Numeric,
    }
}

diesel::table! {
    statement_reviews (brand_id, month, agent_id) {
        brand_id -> Int8,
        month -> Text,
        agent_id -> Int8,
        id -> Int8,
        state -> Text,
        reason -> Nullable<Text>,
        reviewed_at -> Timestamptz,
        note -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        entry_id -> Nullable<Int8>,
        adjustment_id -> Nullable<Int8>,
    }
}

diesel::table! {
    payees (brand_id, agent_id) {
        brand_id -> Int8,
        agent_id -> Int8,
        method -> Text,
        name -> Text,
        account -> Text,
        bank -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    payout_batches (brand_id, no) {
        brand_id -> Int8,
        no -> Int4,
        created_at -> Timestamptz,
        created_by -> Text,
    }
}

diesel::table! {
    adjustments (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        agent_id -> Int8,
        amount -> Numeric,
        category -> Text,
        reason -> Text,
        dispute_id -> Nullable<Int8>,
        status -> Text,
        made_by -> Int8,
        made_at -> Timestamptz,
        checked_by -> Nullable<Int8>,
        checked_at -> Nullable<Timestamptz>,
        rejection -> Nullable<Text>,
        entry_id -> Nullable<Int8>,
    }
}

diesel::table! {
    audit_log (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Int8,
        chain -> Int2,
        actor -> Text,
        role -> Text,
        action -> Text,
        target -> Text,
        request_id -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    invite_codes (code) {
        code -> Text,
        brand_id -> Int8,
        agent_id -> Int8,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    applications (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        code -> Text,
        inviter_id -> Int8,
        name -> Text,
        phone -> Text,
        wechat -> Nullable<Text>,
        tier_id -> Int8,
        password_hash -> Text,
        access_hash -> Bytea,
        status -> Text,
        stage -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        reason -> Nullable<Text>,
        agent_id -> Nullable<Int8>,
        source -> Text,
    }
}

diesel::table! {
    certificates (number) {
        number -> Text,
        brand_id -> Int8,
        agent_id -> Int8,
        tier_id -> Int8,
        valid_from -> Timestamptz,
        valid_until -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_why -> Nullable<Text>,
    }
}

diesel::table! {
    upgrade_rules (brand_id, tier_id) {
        brand_id -> Int8,
        tier_id -> Int8,
        months -> Int4,
        own_purchases_min -> Nullable<Numeric>,
        direct_recruits_min -> Nullable<Int4>,
        team_volume_min -> Nullable<Numeric>,
        combine -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    upgrade_proposals (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        agent_id -> Int8,
        from_tier_id -> Int8,
        to_tier_id -> Int8,
        source -> Text,
        figures -> Jsonb,
        status -> Text,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        reason -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    upgrade_rules,
    upgrade_proposals,
    invite_codes,
    applications,
    certificates,
    payees,
    payout_batches,
    adjustments,
    audit_log,
    brands,
    hq_users,
    tiers,
    products,
    product_prices,
    agents,
    agent_events,
    sessions,
    login_failures,
    idempotency_keys,
    plan_versions,
    orders,
    order_lines,
    refunds,
    refund_lines,
    stock,
    hq_stock,
    stock_moves,
    journal_entries,
    postings,
    withdrawals,
    periods,
    statements,
    period_exports,
    first_purchases,
    period_reports,
    agent_exits,
    agent_month_purchases,
);
