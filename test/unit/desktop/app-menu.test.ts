import { describe, expect, it } from 'vitest';
import { applicationMenuTemplate } from '../../../src-main/desktop/app-menu.js';

describe('applicationMenuTemplate', () => {
  it('gives macOS the standard menus (copy and paste need the Edit menu there)', () => {
    const roles = applicationMenuTemplate('darwin')?.map((item) => item.role);
    expect(roles).toEqual(['appMenu', 'editMenu', 'viewMenu', 'windowMenu']);
  });

  it('gives Windows and Linux no menu bar', () => {
    expect(applicationMenuTemplate('linux')).toBeNull();
    expect(applicationMenuTemplate('win32')).toBeNull();
  });
});
