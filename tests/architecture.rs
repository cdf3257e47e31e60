//! The layering rule, checked: no two top-level modules of non-test code import each other,
//! directly or through others, nor do two files, and the lower layers import no capability. Reads every file
//! under `src/` with `syn` and follows `crate::` and `super::` paths; `#[cfg(test)]` items
//! and test-only files are left out. See docs/architecture.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The capabilities: what the context, the edge and the domain must never reach.
const CAPABILITIES: &[&str] = &[
    "intake",
    "triage",
    "tickets",
    "sla",
    "oncall",
    "escalation",
    "stats",
    "seed",
    "what_if",
    "jobs",
    "digest",
    "roadmap",
    "csat",
    "survey",
    "leverage",
    "self_service",
];

/// Modules that sit below every capability.
const BELOW_CAPABILITIES: &[&str] = &[
    "clock",
    "context",
    "domain",
    "input",
    "metrics",
    "mrkdwn",
    "outbox",
    "settings",
    "store",
    "telemetry",
    "words",
    "slack",
    "web",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .map(|m| m.path().is_ident("test"))
                .unwrap_or(false)
    })
}

/// Collects the top-level modules one file refers to.
struct Refs<'a> {
    /// The module path of the code being visited (`["slack", "inbound"]`).
    module: Vec<String>,
    top_levels: &'a BTreeSet<String>,
    found: BTreeSet<String>,
    /// Every module that is a file of its own (`["tickets", "filer", "writer"]`).
    files: &'a BTreeSet<Vec<String>>,
    /// The files the visited code refers to: the longest file module each path starts with.
    found_files: BTreeSet<Vec<String>>,
    /// Files declared `#[cfg(test)] mod x;` here: left out.
    test_children: Vec<String>,
}

impl Refs<'_> {
    /// The top-level module a path starting with `segments` names, if any.
    fn resolve(&mut self, segments: &[String]) {
        let mut base = self.module.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => return,
        }
        let top = base.first().cloned().or_else(|| rest.first().cloned());
        if let Some(top) = top {
            if self.top_levels.contains(&top) {
                self.found.insert(top);
            }
        }
        let mut full = base;
        full.extend(rest.iter().cloned());
        while !full.is_empty() && !self.files.contains(&full) {
            full.pop();
        }
        if !full.is_empty() {
            self.found_files.insert(full);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.resolve(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.resolve(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.resolve(&prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_attr(attrs) {
            if let syn::Item::Mod(m) = item {
                if m.content.is_none() {
                    self.test_children.push(m.ident.to_string());
                }
            }
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments);
        syn::visit::visit_path(self, path);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/` (`src/slack/mod.rs` is `["slack"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// Top-level module -> the top-level modules its non-test code refers to.
fn graph() -> Graph {
    graphs().0
}

/// File module (`tickets::filer::writer`) -> the file modules its non-test code refers to
/// by `crate::` and `super::` paths (a path names the longest file module it starts with).
fn file_graph() -> Graph {
    graphs().1
}

/// Both graphs, from one reading of `src/`.
fn graphs() -> (Graph, Graph) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let top_levels: BTreeSet<String> = paths
        .iter()
        .filter_map(|f| module_of(&src, f).first().cloned())
        .collect();
    let files: BTreeSet<Vec<String>> = paths.iter().map(|f| module_of(&src, f)).collect();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut refs = Vec::new();
    for file in &paths {
        let text = std::fs::read_to_string(file).unwrap();
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let module = module_of(&src, file);
        let mut visitor = Refs {
            module: module.clone(),
            top_levels: &top_levels,
            found: BTreeSet::new(),
            files: &files,
            found_files: BTreeSet::new(),
            test_children: Vec::new(),
        };
        visitor.visit_file(&parsed);
        for child in &visitor.test_children {
            let mut path = module.clone();
            path.push(child.clone());
            test_only.insert(path);
        }
        refs.push((module, visitor.found, visitor.found_files));
    }
    let mut graph = Graph::new();
    let mut file_graph = Graph::new();
    for (module, found, found_files) in refs {
        if test_only.iter().any(|t| module.starts_with(t)) {
            continue;
        }
        let name = module.join("::");
        let edges = file_graph.entry(name.clone()).or_default();
        edges.extend(
            found_files
                .iter()
                .filter(|f| !test_only.iter().any(|t| f.starts_with(t)))
                .map(|f| f.join("::"))
                .filter(|f| *f != name),
        );
        let Some(top) = module.first() else { continue };
        let edges = graph.entry(top.clone()).or_default();
        edges.extend(found.into_iter().filter(|f| f != top));
    }
    (graph, file_graph)
}

/// Every node of `graph` that reaches itself, with the way round (`a -> b -> a`).
fn circles(graph: &Graph) -> Vec<String> {
    graph
        .keys()
        .filter_map(|node| reach(graph, node).remove(node))
        .map(|path| path.join(" -> "))
        .collect()
}

/// The modules `from` reaches, with one path to each.
fn reach(graph: &Graph, from: &str) -> BTreeMap<String, Vec<String>> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut todo = vec![vec![from.to_string()]];
    while let Some(path) = todo.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if !seen.contains_key(next) {
                let mut longer = path.clone();
                longer.push(next.clone());
                seen.insert(next.clone(), longer.clone());
                todo.push(longer);
            }
        }
    }
    seen
}

#[test]
fn no_two_top_level_modules_import_each_other_directly_or_through_others() {
    let graph = graph();
    assert!(graph.len() > 10, "the source was not read: {graph:?}");
    let circles = circles(&graph);
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other_directly_or_through_others() {
    // Within a folder too: `super::` and `crate::` paths between files. (Paths relative to
    // a module, as a `mod.rs` names its own children, are not read: a parent declaring and
    // using its children is the module tree, not a circle.)
    let graph = file_graph();
    assert!(
        graph.len() > 100,
        "the source was not read: {}",
        graph.len()
    );
    assert!(
        graph["tickets::filer::writer"].contains("tickets::filer::protocol"),
        "{:?}",
        graph["tickets::filer::writer"]
    );
    let circles = circles(&graph);
    assert!(
        circles.is_empty(),
        "import circles between files:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_edge_the_context_and_the_domain_import_no_capability() {
    let graph = graph();
    for low in BELOW_CAPABILITIES {
        for (reached, path) in reach(&graph, low) {
            assert!(
                !CAPABILITIES.contains(&reached.as_str()),
                "{low} reaches the capability {reached}: {}",
                path.join(" -> ")
            );
        }
    }
}

#[test]
fn the_graph_sees_imports_of_every_kind() {
    // A guard on the reader itself: paths in `use` groups, in expressions, through `super`.
    let graph = graph();
    let app = &graph["app"];
    for wired in ["context", "dispatch", "slack", "escalation", "tickets"] {
        assert!(app.contains(wired), "app -> {wired} not seen: {app:?}");
    }
    assert!(
        graph["dispatch"].contains("intake"),
        "{:?}",
        graph["dispatch"]
    );
    assert!(graph["tickets"].contains("sla"), "{:?}", graph["tickets"]);
}

#[test]
fn scheduled_jobs_import_no_other_capability() {
    // The job runner sits at the bottom of the capabilities, so that any of them (the
    // handoff in escalation, the digest, the survey) can register a job with it.
    let graph = graph();
    for (reached, path) in reach(&graph, "jobs") {
        assert!(
            !CAPABILITIES.contains(&reached.as_str()),
            "jobs reaches the capability {reached}: {}",
            path.join(" -> ")
        );
    }
    assert!(
        graph["escalation"].contains("jobs"),
        "{:?}",
        graph["escalation"]
    );
}
