import { mount } from 'svelte';
import './styles.css';
import App from './App.svelte';
import { installApi } from './api/index.ts';

installApi();
const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks the #app mount point');
mount(App, { target });
