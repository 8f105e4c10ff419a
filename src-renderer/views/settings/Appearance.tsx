import { Card, Segmented } from '../../components/ui';
import { setTheme, useTheme, type ThemeChoice } from '../../lib/theme';

const THEMES: { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'Follow the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

export function Appearance() {
  return (
    <Card title="Appearance">
      <Segmented legend="Theme" options={THEMES} value={useTheme()} onChange={setTheme} />
      <p className="hint">Kept in this browser only.</p>
    </Card>
  );
}
