// Starts GraphiQL on the page served at GET /graphql. A file of its own rather than an
// inline script, so the page's Content-Security-Policy can allow scripts from 'self' only.
// Settings come from data- attributes of #graphiql, written by the server.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.dataset.endpoint, window.location.href);
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var h = React.createElement;

  // Queries and mutations over HTTP, subscriptions over graphql-ws (graphql-transport-ws);
  // the headers editor's JSON goes in both, and in the socket's connection_init payload.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
  });

  var plugins = [];
  var tokenUrl = root.dataset.devToken;
  if (tokenUrl) {
    plugins.push({
      title: "Sign in (development)",
      icon: function () {
        return h("span", { "aria-hidden": "true", style: { fontWeight: "bold" } }, "ID");
      },
      content: function SignIn() {
        var editors = GraphiQL.React.useEditorContext({ nonNull: true });
        var state = React.useState("alice");
        var message = React.useState("");
        function signIn(event) {
          event.preventDefault();
          message[1]("…");
          fetch(tokenUrl, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ user_id: state[0] }),
          })
            .then(function (response) {
              return response.json().then(function (body) {
                if (!response.ok) {
                  throw new Error(body.detail || response.statusText);
                }
                return body;
              });
            })
            .then(function (body) {
              var headers = {};
              try {
                headers = JSON.parse(editors.headerEditor.getValue() || "{}");
              } catch (e) {
                headers = {};
              }
              headers.Authorization = "Bearer " + body.access_token;
              editors.headerEditor.setValue(JSON.stringify(headers, null, 2));
              message[1]("Signed in as " + body.user_id + " (token in the Headers tab).");
            })
            .catch(function (error) {
              message[1]("Could not sign in: " + error.message);
            });
        }
        return h(
          "form",
          { onSubmit: signIn, className: "todo-api-sign-in" },
          h("div", { className: "graphiql-doc-explorer-title" }, "Sign in"),
          h(
            "p",
            null,
            "Development mode: get a token for any user id, signed with the development secret."
          ),
          h(
            "label",
            null,
            "User id ",
            h("input", {
              value: state[0],
              onChange: function (event) {
                state[1](event.target.value);
              },
              "aria-label": "user id",
            })
          ),
          h("button", { type: "submit", className: "graphiql-button" }, "Sign in as " + state[0]),
          h("p", { role: "status" }, message[0])
        );
      },
    });
  }

  ReactDOM.createRoot(root).render(
    h(GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      defaultHeaders: JSON.stringify({ Authorization: "Bearer " }, null, 2),
      // Keep what the user typed (their token) across reloads, in this browser's storage.
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
      defaultQuery: root.dataset.defaultQuery,
      // `/graphql?plugin=docs` opens with the Docs panel showing (handy for links).
      visiblePlugin:
        new URLSearchParams(window.location.search).get("plugin") === "docs"
          ? "Documentation Explorer"
          : undefined,
    })
  );
})();
