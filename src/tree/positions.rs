//! A tree as positions: every agent's place in the depth-first order of the tree (children by
//! id, so the order of the paths) and the place of the last agent of its team. A team is then
//! the range `[pos, end]`, which an index over one bigint serves far more cheaply than a
//! range of paths (int8[] comparisons). A plain function over plain data.

/// The place of one agent: `pos` in the depth-first order, `end` the last position of its team
/// (itself included), so its team is every agent with a position in `[pos, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub agent_id: i64,
    pub pos: i64,
    pub end: i64,
}

/// Places of every node of a forest given as (id, parent). A node whose parent is absent
/// from the list is a root. Roots and siblings go by id. Iterative: any depth. Index-based
/// (ids sorted once, children as one flat array): a million nodes in well under a second,
/// where hash maps of child lists took about one.
pub fn places(nodes: &[(i64, Option<i64>)]) -> Vec<Place> {
    let n = nodes.len();
    // every node's index, by id
    let mut by_id: Vec<(i64, usize)> = nodes.iter().enumerate().map(|(i, &(id, _))| (id, i)).collect();
    by_id.sort_unstable();
    let find = |id: i64| by_id.binary_search_by_key(&id, |&(id, _)| id).ok().map(|k| by_id[k].1);
    let parent: Vec<Option<usize>> = nodes.iter().map(|&(_, p)| p.and_then(find)).collect();
    // children of each node in one array (`first[i]..first[i + 1]`), filled in id order
    let mut first = vec![0usize; n + 1];
    for p in parent.iter().flatten() {
        first[p + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    let mut fill = first.clone();
    let mut children = vec![0usize; n];
    let mut roots = Vec::new();
    for &(_, i) in &by_id {
        match parent[i] {
            Some(p) => {
                children[fill[p]] = i;
                fill[p] += 1;
            }
            None => roots.push(i),
        }
    }
    let mut out: Vec<Place> = Vec::with_capacity(n);
    // each node's index in `out`
    let mut at = vec![0usize; n];
    // (node, next child to visit); a node's end is known when its last child is done
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in roots {
        let mut entering = Some(root);
        loop {
            if let Some(node) = entering.take() {
                at[node] = out.len();
                out.push(Place { agent_id: nodes[node].0, pos: out.len() as i64, end: out.len() as i64 });
                stack.push((node, first[node]));
            }
            let Some(top) = stack.last_mut() else { break };
            let (node, next) = *top;
            if next < first[node + 1] {
                top.1 += 1;
                entering = Some(children[next]);
            } else {
                stack.pop();
                let end = out.len() as i64 - 1;
                out[at[node]].end = end;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The paths of a forest, to compare the order with.
    fn paths(nodes: &[(i64, Option<i64>)]) -> HashMap<i64, Vec<i64>> {
        let parent: HashMap<i64, Option<i64>> = nodes.iter().copied().collect();
        nodes
            .iter()
            .map(|&(id, _)| {
                let mut path = vec![id];
                let mut at = parent[&id];
                while let Some(p) = at.filter(|p| parent.contains_key(p)) {
                    path.insert(0, p);
                    at = parent[&p];
                }
                (id, path)
            })
            .collect()
    }

    #[test]
    fn positions_follow_the_order_of_paths_and_a_team_is_a_range() {
        // 1 ─ 7 ─ 3        9 (its parent 42 is not in the list: a root)
        //   └ 2 ─ 8 ─ 4
        let nodes = [(3, Some(7)), (1, None), (7, Some(1)), (2, Some(1)), (8, Some(2)), (4, Some(8)), (9, Some(42))];
        let got = places(&nodes);
        assert_eq!(got.iter().map(|p| p.agent_id).collect::<Vec<_>>(), vec![1, 2, 8, 4, 7, 3, 9]);
        agrees_with_paths(&nodes);
    }

    /// The places against the paths: depth-first order is path order, a team is a range.
    fn agrees_with_paths(nodes: &[(i64, Option<i64>)]) {
        let got = places(nodes);
        let paths = paths(nodes);
        let mut by_path: Vec<&Vec<i64>> = paths.values().collect();
        by_path.sort();
        assert_eq!(got.iter().map(|p| &paths[&p.agent_id]).collect::<Vec<_>>(), by_path, "depth-first order is path order");
        for p in &got {
            assert_eq!(p.pos, got.iter().position(|q| q.agent_id == p.agent_id).unwrap() as i64);
            let team: Vec<i64> = got.iter().filter(|q| q.pos >= p.pos && q.pos <= p.end).map(|q| q.agent_id).collect();
            let expected: Vec<i64> = got.iter().filter(|q| paths[&q.agent_id].starts_with(&paths[&p.agent_id])).map(|q| q.agent_id).collect();
            assert_eq!(team, expected, "team of {}", p.agent_id);
        }
    }

    proptest::proptest! {
        /// Any forest, its nodes in any order, some parents outside the list.
        #[test]
        fn any_forest_agrees_with_its_paths(picks in proptest::collection::vec((0u8..4, 0usize..1000), 1..60), shift in 0usize..1000) {
            // node k + 1 hangs under an earlier node (or is a root, or names an unknown parent)
            let mut nodes: Vec<(i64, Option<i64>)> = picks
                .iter()
                .enumerate()
                .map(|(k, &(kind, pick))| {
                    let id = 1 + k as i64;
                    let parent = match kind {
                        0 => None,
                        1 => Some(10_000 + pick as i64),
                        _ if k == 0 => None,
                        _ => Some(1 + (pick % k) as i64),
                    };
                    (id, parent)
                })
                .collect();
            let len = nodes.len();
            nodes.rotate_left(shift % len);
            agrees_with_paths(&nodes);
        }
    }

    #[test]
    fn a_chain_deeper_than_any_stack_is_fine() {
        let nodes: Vec<(i64, Option<i64>)> = (1..=200_000).map(|i| (i, if i == 1 { None } else { Some(i - 1) })).collect();
        let got = places(&nodes);
        assert_eq!(got[0], Place { agent_id: 1, pos: 0, end: 199_999 });
        assert_eq!(got[199_999], Place { agent_id: 200_000, pos: 199_999, end: 199_999 });
    }
}
