; Inno Setup script for Inkling on Windows: wraps the PyInstaller bundle dist\inkling\ into
; dist\inkling-<version>-windows-x64-setup.exe.
;     python -m PyInstaller --noconfirm --distpath dist packaging\inkling.spec
;     iscc /DAppVersion=0.1.0 packaging\windows\inkling.iss
; Installs per user by default (no administrator rights needed); the setup asks if someone wants it
; for all users. Paths here are relative to this file.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define Bundle "..\..\dist\inkling"

[Setup]
AppId={{6F0C9D2E-5B1A-4C8F-9E37-2A4D81B0C5F3}
AppName=Inkling
AppVersion={#AppVersion}
AppVerName=Inkling {#AppVersion}
AppPublisher=Inkling
AppComments=Draw something; a small neural network guesses what it is, live.
DefaultDirName={autopf}\Inkling
DefaultGroupName=Inkling
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=inkling-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\inkling.ico
UninstallDisplayIcon={app}\inkling.exe
UninstallDisplayName=Inkling
Compression=lzma2/ultra64
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Inkling"; Filename: "{app}\inkling.exe"
Name: "{autodesktop}\Inkling"; Filename: "{app}\inkling.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\inkling.exe"; Description: "{cm:LaunchProgram,Inkling}"; Flags: nowait postinstall skipifsilent
