#!/bin/sh
# Refreshes the vendored GraphiQL page assets from the npm registry. Run it by hand when
# upgrading (nothing is downloaded at build or run time), then check the page in a browser
# and commit. Needs npm and tar.
#
# GraphiQL 3.x is the newest release with a UMD build (graphiql.min.js) that runs from plain
# <script> tags without a bundler; it bundles graphql-js, CodeMirror and the graphql-ws
# client. React 18 is the newest React with UMD production builds.
set -eu

GRAPHIQL=3.9.0
REACT=18.3.1

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for tarball in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
    package=${tarball%-*}
    mkdir "$package"
    tar -xzf "$tarball.tgz" -C "$package" --strip-components=1
done

# The source map comment is dropped: the 4 MB map is not shipped.
grep -v '^//# sourceMappingURL=' graphiql/graphiql.min.js > "$here/graphiql.min.js"
cp graphiql/graphiql.min.css "$here/graphiql.min.css"
cp graphiql/LICENSE "$here/LICENSE.graphiql"
cp react/umd/react.production.min.js "$here/react.production.min.js"
cp react/LICENSE "$here/LICENSE.react"
cp react-dom/umd/react-dom.production.min.js "$here/react-dom.production.min.js"
cp react-dom/LICENSE "$here/LICENSE.react-dom"
{
    echo "graphiql $GRAPHIQL, react $REACT, react-dom $REACT (npm registry)"
    echo "Licences: LICENSE.graphiql, LICENSE.react, LICENSE.react-dom (all MIT)."
    echo "graphiql.min.js also bundles the dependencies of graphiql and @graphiql/react (graphql-js,"
    echo "CodeMirror 5, graphql-ws, markdown-it, ...), whose licence texts are not in the bundle:"
    echo "see each package on the npm registry."
} > "$here/VERSIONS"
echo "refreshed: $(cat "$here/VERSIONS")"
