//! Publishing-time rendering: every fixture guide renders, and hostile Markdown and HTML come out
//! inert. Outputs are checked by parsing them as a browser would, not by matching strings.

mod common;

use common::html::dangers;
use gatehouse::server::render::markdown::{Links, render};
use scraper::Html;
use std::collections::HashMap;

fn links() -> HashMap<String, String> {
    [("other.md".to_owned(), "other".to_owned())]
        .into_iter()
        .collect()
}

fn rendered(source: &str) -> String {
    let guides = links();
    render(
        source,
        &Links {
            api_slug: "api",
            guides: &guides,
        },
    )
    .html
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" onerror=\"alert(1)\"/>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<javascript:alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "[x](vbscript:msgbox(1))",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<style>body { display: none }</style>",
    "<p style=\"position:fixed;top:0;left:0;width:100%;height:100%\">cover</p>",
    "<div onclick=\"alert(1)\">x</div>",
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<body onload=alert(1)>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    "<a href=\"javas<!-- -->cript:alert(1)\">x</a>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<button formaction=\"javascript:alert(1)\">x</button>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:/\">",
    "<link rel=\"stylesheet\" href=\"https://evil.example/x.css\">",
    "<input type=\"text\" onfocus=\"alert(1)\" autofocus>",
    "<input type=\"image\" src=\"javascript:alert(1)\">",
    "<video><source onerror=\"alert(1)\"></video>",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "# <img src=x onerror=alert(1)> heading",
    "## [x](javascript:alert(1))",
    "```\" onmouseover=\"alert(1)\nx\n```",
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<div id=\"main\" class=\"panel-error\">x</div>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<a href=\"https://ok.example\" target=\"_blank\" onmouseover=\"alert(1)\">ok</a>",
    "<img src=\"https://ok.example/a.png\" srcset=\"javascript:alert(1) 1x\">",
    "<p>unclosed <b><i>nested <a href='javascript:alert(1)'>x</b>",
];

#[test]
fn nothing_executable_survives_hostile_markdown_or_html() {
    // The checker itself sees danger in raw hostile HTML.
    assert_eq!(dangers("<img src=x onerror=alert(1)>"), ["img[onerror]"]);
    assert_eq!(dangers("<a href=\" JaVa\tScript:x\">x</a>").len(), 1);
    assert_eq!(dangers("<svg><script>1</script></svg>").len(), 2);
    let mut failures = Vec::new();
    for case in HOSTILE {
        let html = rendered(case);
        let found = dangers(&html);
        if !found.is_empty() {
            failures.push(format!("{case:?}\n  -> {html}\n  found {found:?}"));
        }
    }
    // All of them in one document too, where one case's broken markup meets the next.
    let all = HOSTILE.join("\n\n");
    let found = dangers(&rendered(&all));
    if !found.is_empty() {
        failures.push(format!("the whole corpus at once: {found:?}"));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn harmless_content_and_our_own_markup_survive_sanitizing() {
    let html = rendered(
        "## Tokens\n\n[next](other.md#scopes) and <https://example.com>\n\n```json\n{\"a\": 1}\n```\n\n- [x] done\n",
    );
    let doc = Html::parse_fragment(&html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    assert_eq!(doc.select(&sel("h2#tokens")).count(), 1, "{html}");
    assert_eq!(
        doc.select(&sel("a[href=\"/apis/api/guides/other#scopes\"]"))
            .count(),
        1
    );
    assert_eq!(
        doc.select(&sel(
            "a[href=\"https://example.com\"][rel=\"noopener noreferrer\"]"
        ))
        .count(),
        1
    );
    assert!(
        doc.select(&sel("pre.code code.language-json span")).count() > 0,
        "{html}"
    );
    assert_eq!(
        doc.select(&sel("input[type=checkbox][disabled]")).count(),
        1
    );
    // An author's own id and class do not clobber the page's.
    let html = rendered("<div id=\"main\" class=\"panel-error\">x</div>");
    let doc = Html::parse_fragment(&html);
    assert_eq!(doc.select(&sel("#main")).count(), 0, "{html}");
    assert_eq!(doc.select(&sel(".panel-error")).count(), 0);
}

#[test]
fn every_fixture_guide_renders_with_a_table_of_contents() {
    let dir = format!("{}/demo/fixtures/guides", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let guides = links();
        let out = render(
            &source,
            &Links {
                api_slug: "api",
                guides: &guides,
            },
        );
        let name = path.display();
        assert!(
            out.html.len() > source.len() / 4,
            "{name} rendered too little"
        );
        assert!(
            dangers(&out.html).is_empty(),
            "{name}: {:?}",
            dangers(&out.html)
        );
        let headings = source.lines().filter(|l| l.starts_with("## ")).count();
        assert!(
            out.toc.iter().filter(|t| t.level == 2).count() >= headings.min(1),
            "{name}: {} second-level headings, toc {:?}",
            headings,
            out.toc
        );
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} guides found in {dir}");
}
