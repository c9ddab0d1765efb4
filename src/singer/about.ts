// Placeholder until the packaging branch lands (replaced by the full definition).
export interface About {
  name: string;
  description: string;
  capabilities: string[];
}
export const ABOUT: About = { name: 'tap-hotjar', description: 'Singer tap for Hotjar survey responses', capabilities: ['catalog', 'discover', 'state', 'about'] };
export function formatAbout(about: About, format: 'text' | 'json' | 'markdown', version: string): string {
  if (format === 'json') return JSON.stringify({ ...about, version }, null, 2);
  return `Name: ${about.name}\nVersion: ${version}\nDescription: ${about.description}\nCapabilities: ${about.capabilities.join(', ')}`;
}
