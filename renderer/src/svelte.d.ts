// Lets tsc resolve component imports from .ts modules; the components themselves are compiled by Vite.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<Record<string, never>>;
  export default component;
}

// Stylesheets are bundled by Vite.
declare module '*.css';
