//! A tree as positions: every agent's place in the depth-first order of the tree (children by
//! id, so the order of the paths) and the place of the last agent of its team. A team is then
//! the range `[pos, end]`, which an index over one bigint serves far more cheaply than a
//! range of paths (int8[] comparisons). A plain function over plain data.

use std::collections::HashMap;

/// The place of one agent: `pos` in the depth-first order, `end` the last position of its team
/// (itself included), so its team is every agent with a position in `[pos, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub agent_id: i64,
    pub pos: i64,
    pub end: i64,
}

/// Places of every node of a forest given as (id, parent). A node whose parent is absent
/// from the list is a root. Roots and siblings go by id. Iterative: any depth.
pub fn places(nodes: &[(i64, Option<i64>)]) -> Vec<Place> {
    let known: std::collections::HashSet<i64> = nodes.iter().map(|n| n.0).collect();
    let mut children: HashMap<i64, Vec<i64>> = HashMap::with_capacity(nodes.len());
    let mut roots = Vec::new();
    for &(id, parent) in nodes {
        match parent.filter(|p| known.contains(p)) {
            Some(p) => children.entry(p).or_default().push(id),
            None => roots.push(id),
        }
    }
    for kids in children.values_mut() {
        kids.sort_unstable();
    }
    roots.sort_unstable();
    let mut out: Vec<Place> = Vec::with_capacity(nodes.len());
    let mut index: HashMap<i64, usize> = HashMap::with_capacity(nodes.len());
    // (node, next child to visit); a node's end is known when its last child is done
    let mut stack: Vec<(i64, usize)> = Vec::new();
    for root in roots {
        stack.push((root, 0));
        index.insert(root, out.len());
        out.push(Place { agent_id: root, pos: out.len() as i64, end: out.len() as i64 });
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            match children.get(&node).and_then(|k| k.get(next)) {
                Some(&child) => {
                    top.1 += 1;
                    index.insert(child, out.len());
                    out.push(Place { agent_id: child, pos: out.len() as i64, end: out.len() as i64 });
                    stack.push((child, 0));
                }
                None => {
                    stack.pop();
                    out[index[&node]].end = out.len() as i64 - 1;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
        let paths = paths(&nodes);
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

    #[test]
    fn a_chain_deeper_than_any_stack_is_fine() {
        let nodes: Vec<(i64, Option<i64>)> = (1..=200_000).map(|i| (i, if i == 1 { None } else { Some(i - 1) })).collect();
        let got = places(&nodes);
        assert_eq!(got[0], Place { agent_id: 1, pos: 0, end: 199_999 });
        assert_eq!(got[199_999], Place { agent_id: 200_000, pos: 199_999, end: 199_999 });
    }
}
