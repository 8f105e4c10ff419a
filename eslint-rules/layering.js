// local/layering: which part of the code may import which (ARCHITECTURE.md has the table and
// why). Each file belongs to the layer whose folder is the longest prefix of its path; an
// import of another layer's file must be in the importing layer's `mayImport` list. Bare
// module names are free, except those a layer table reserves (`electron`: the desktop shell
// only). Like VS Code's local/code-layering: a small rule over the paths, no resolver needed.
import path from 'node:path';

function layerOf(layers, root, file) {
  const relative = path.relative(root, file).split(path.sep).join('/');
  // Imports name the compiled file (`./engine.js`); the layer table names the source (`engine.ts`).
  const names = [relative, relative.replace(/\.[mc]?jsx?$/, '.ts'), relative.replace(/\.[mc]?jsx?$/, '.tsx')];
  let found;
  for (const layer of layers) {
    const inside = names.some((name) => name === layer.path || name.startsWith(`${layer.path}/`));
    if (inside && (!found || layer.path.length > found.path.length)) found = layer;
  }
  return found;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layer table in ARCHITECTURE.md' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          layers: { type: 'array' },
          reserved: { type: 'object' },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      upward: '{{from}} may not import {{to}} ({{from}} may import: {{allowed}}). See ARCHITECTURE.md, "Layers".',
      reserved: '\'{{module}}\' may only be imported under {{where}}. See ARCHITECTURE.md, "Layers".',
    },
  },
  create(context) {
    const { root, layers, reserved = {} } = context.options[0];
    const file = context.filename;
    const from = layerOf(layers, root, file);
    if (!from) return {};
    const check = (node, specifier) => {
      if (typeof specifier !== 'string') return;
      if (!specifier.startsWith('.')) {
        const allowedIn = reserved[specifier.split('/')[0]];
        if (allowedIn && !allowedIn.includes(from.name))
          context.report({ node, messageId: 'reserved', data: { module: specifier, where: allowedIn.join(', ') } });
        return;
      }
      const to = layerOf(layers, root, path.resolve(path.dirname(file), specifier));
      if (!to || to.name === from.name || from.mayImport.includes(to.name)) return;
      context.report({ node, messageId: 'upward', data: { from: from.name, to: to.name, allowed: from.mayImport.join(', ') || 'nothing else' } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
