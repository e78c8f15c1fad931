//! Load order: a topological sort of plugins by what they provide and depend on, ties broken by
//! priority (higher first) and then by name, so the order is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use wolfguard_plugin_api::Manifest;

/// A plugin as the sort sees it.
pub(crate) struct Node<'a> {
    pub name: &'a str,
    pub priority: i32,
    pub manifest: &'a Manifest,
}

/// The outcome: an order of indices into the input, and the plugins left out because a
/// dependency is missing (with the feature they lack).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Order {
    pub order: Vec<usize>,
    pub missing: Vec<(usize, String)>,
}

/// Sorts `nodes`. A plugin provides its instance name, its manifest name and every feature in
/// its manifest's `provides`. Fails with the plugins of a cycle, in dependency order.
pub(crate) fn sort(nodes: &[Node<'_>]) -> Result<Order, Vec<String>> {
    let mut providers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let features = [n.name, n.manifest.name.as_str()]
            .into_iter()
            .chain(n.manifest.provides.iter().map(String::as_str));
        for f in features.collect::<BTreeSet<_>>() {
            providers.entry(f).or_default().push(i);
        }
    }

    // Drop plugins whose dependencies are not provided, repeatedly (a drop may orphan others).
    let mut alive: Vec<bool> = vec![true; nodes.len()];
    let mut missing = Vec::new();
    loop {
        let mut changed = false;
        for (i, n) in nodes.iter().enumerate() {
            if !alive[i] {
                continue;
            }
            let lacking = n.manifest.depends.iter().find(|d| {
                !providers
                    .get(d.as_str())
                    .is_some_and(|ps| ps.iter().any(|p| alive[*p] && *p != i))
            });
            if let Some(d) = lacking {
                alive[i] = false;
                missing.push((i, d.clone()));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // deps[i]: alive plugins that must come before i.
    let deps: Vec<BTreeSet<usize>> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            n.manifest
                .depends
                .iter()
                .flat_map(|d| providers.get(d.as_str()).into_iter().flatten())
                .copied()
                .filter(|p| *p != i && alive[*p])
                .collect()
        })
        .collect();

    let mut done = vec![false; nodes.len()];
    let mut order = Vec::new();
    let total = alive.iter().filter(|a| **a).count();
    while order.len() < total {
        let next = (0..nodes.len())
            .filter(|i| alive[*i] && !done[*i] && deps[*i].iter().all(|d| done[*d]))
            .min_by(|a, b| {
                let (a, b) = (&nodes[*a], &nodes[*b]);
                b.priority.cmp(&a.priority).then(a.name.cmp(b.name))
            });
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => return Err(cycle(nodes, &alive, &done, &deps)),
        }
    }
    Ok(Order { order, missing })
}

/// Finds one cycle among the plugins not yet placed, for the error message.
fn cycle(
    nodes: &[Node<'_>],
    alive: &[bool],
    done: &[bool],
    deps: &[BTreeSet<usize>],
) -> Vec<String> {
    let pending = |i: &usize| alive[*i] && !done[*i];
    let Some(start) = (0..nodes.len()).find(pending) else {
        return Vec::new();
    };
    // Every pending node has a pending dependency; walk them until a node repeats.
    let mut path = vec![start];
    loop {
        let cur = path[path.len() - 1];
        let Some(next) = deps[cur].iter().copied().find(pending) else {
            return path.iter().map(|i| nodes[*i].name.to_owned()).collect();
        };
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut names: Vec<String> = path[pos..]
                .iter()
                .map(|i| nodes[*i].name.to_owned())
                .collect();
            names.push(nodes[next].name.to_owned());
            return names;
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(provides: &[&str], depends: &[&str]) -> Manifest {
        Manifest {
            provides: provides.iter().map(|s| (*s).to_owned()).collect(),
            depends: depends.iter().map(|s| (*s).to_owned()).collect(),
            ..Manifest::default()
        }
    }

    #[test]
    fn dependencies_first_then_priority_then_name() {
        let ms = [m(&[], &["kv"]), m(&["kv"], &[]), m(&[], &[]), m(&[], &[])];
        let nodes = [
            Node {
                name: "user",
                priority: 100,
                manifest: &ms[0],
            },
            Node {
                name: "store",
                priority: 0,
                manifest: &ms[1],
            },
            Node {
                name: "b",
                priority: 5,
                manifest: &ms[2],
            },
            Node {
                name: "a",
                priority: 5,
                manifest: &ms[3],
            },
        ];
        let o = sort(&nodes).unwrap();
        assert_eq!(o.order, [3, 2, 1, 0]);
        assert!(o.missing.is_empty());
    }

    #[test]
    fn missing_dependencies_drop_transitively() {
        let ms = [m(&["x"], &["nowhere"]), m(&[], &["x"]), m(&[], &[])];
        let nodes = [
            Node {
                name: "a",
                priority: 0,
                manifest: &ms[0],
            },
            Node {
                name: "b",
                priority: 0,
                manifest: &ms[1],
            },
            Node {
                name: "c",
                priority: 0,
                manifest: &ms[2],
            },
        ];
        let o = sort(&nodes).unwrap();
        assert_eq!(o.order, [2]);
        assert_eq!(o.missing, [(0, "nowhere".into()), (1, "x".into())]);
    }

    #[test]
    fn cycles_name_their_plugins() {
        let ms = [
            m(&["pa"], &["pb"]),
            m(&["pb"], &["pc"]),
            m(&["pc"], &["pa"]),
        ];
        let nodes = [
            Node {
                name: "a",
                priority: 0,
                manifest: &ms[0],
            },
            Node {
                name: "b",
                priority: 0,
                manifest: &ms[1],
            },
            Node {
                name: "c",
                priority: 0,
                manifest: &ms[2],
            },
        ];
        let names = sort(&nodes).unwrap_err();
        assert_eq!(names, ["a", "b", "c", "a"]);
    }
}
