/* Search of the status site, loaded by the search page only. The index (all pages, all languages, written by
   mkdocs' search plugin) is fetched at the first search, not with any page. Matching is a case-insensitive
   substring test of every term against the title and text, which works for Korean and Japanese without a
   word splitter; results are the pages of the reader's language. */
(function () {
  "use strict";
  var form = document.querySelector("form.sg-search");
  if (!form) return;
  var input = form.querySelector("input[name=q]");
  var out = document.getElementById("sg-search-results");
  var others = (form.dataset.others || "").split(" ").filter(Boolean);
  var prefix = form.dataset.prefix || "";
  var index = null;

  function load() {
    if (!index) {
      out.textContent = form.dataset.loading;
      index = fetch(form.dataset.index).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (data) {
        return data.docs.filter(function (doc) {
          var loc = doc.location || "";
          if (prefix) return loc.indexOf(prefix) === 0;
          return !others.some(function (o) { return loc.indexOf(o) === 0; });
        }).map(function (doc) {
          var title = toText(doc.title), text = toText(doc.text);
          return { location: doc.location, title: title, text: text,
                   haystack: (title + " " + text).toLowerCase() };
        });
      });
    }
    return index;
  }

  // The index holds titles and texts as (escaped) HTML; an inert document turns them into text (its
  // scripts never run, its images never load), and text is all this script ever puts into the page.
  var inert = new DOMParser();
  function toText(html) {
    return (inert.parseFromString("<body>" + (html || "") + "</body>", "text/html").body.textContent || "")
      .replace(/\s+/g, " ").trim();
  }

  function snippet(text, term) {
    var at = text.toLowerCase().indexOf(term);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "…" : "") + text.slice(start, start + 180).trim() + "…";
  }

  function run(query) {
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) return;
    load().then(function (docs) {
      // one result per page, named by the page's title (section entries carry only their heading)
      var titles = {};
      docs.forEach(function (doc) {
        if (doc.location.indexOf("#") < 0) titles[doc.location] = doc.title;
      });
      var seen = {};
      var hits = [];
      docs.forEach(function (doc) {
        var page = doc.location.split("#")[0];
        if (seen[page] || !terms.every(function (t) { return doc.haystack.indexOf(t) >= 0; })) return;
        seen[page] = true;
        var title = titles[page] || doc.title;
        hits.push({ location: doc.location, text: doc.text,
                    title: title && doc.title && title !== doc.title ? title + " › " + doc.title : (title || doc.title) });
      });
      hits = hits.slice(0, 50);
      out.textContent = "";
      var head = document.createElement("p");
      head.className = "sg-note";
      head.textContent = hits.length ? form.dataset.results.replace("{n}", hits.length) : form.dataset.none;
      out.appendChild(head);
      var list = document.createElement("ul");
      list.className = "sg-list";
      hits.forEach(function (doc) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = form.dataset.root + doc.location;
        link.textContent = doc.title;
        var text = document.createElement("span");
        text.className = "sg-when";
        text.textContent = snippet(doc.text, terms[0]);
        item.appendChild(link);
        item.appendChild(text);
        list.appendChild(item);
      });
      out.appendChild(list);
    }).catch(function () {
      out.textContent = form.dataset.failed;
      index = null;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
    run(input.value);
  });
  var initial = new URLSearchParams(location.search).get("q");
  if (initial) {
    input.value = initial;
    run(initial);
  }
})();
