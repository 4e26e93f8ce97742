Unicode true

####
## Pult's Windows installer: a per-user install that needs no administrator rights.
##
## `go tool task desktop` builds it with Wails (`wails build -platform windows/amd64 -nsis`, needs `makensis`
## from the Debian package `nsis`), which writes the resolved "wails_tools.nsh" and the WebView2 bootstrapper
## (tmp\MicrosoftEdgeWebview2Setup.exe) next to this file first; both are generated, not committed.
## `go tool task sign` runs makensis again on the signed pult.exe, by hand that is:
## > makensis -DARG_WAILS_AMD64_BINARY=../../bin/pult-signed.exe project.nsi
##
## Installs into %LOCALAPPDATA%\Programs\Pult, with Start menu and desktop shortcuts of the current user and an
## uninstall entry under HKCU. Pult's data (the encrypted local store in the user's profile) is not touched by
## the uninstaller; the app wipes it itself.
####
!define REQUEST_EXECUTION_LEVEL "user"
!define INFO_PROJECTNAME "Pult"
!define PRODUCT_EXECUTABLE "Pult.exe"
!define UNINST_KEY_NAME "Pult"

## Defines INFO_COMPANYNAME, INFO_PRODUCTNAME, INFO_PRODUCTVERSION, INFO_COPYRIGHT (from wails.json), ARCH and the
## wails.* macros; sets RequestExecutionLevel to the level above.
!include "wails_tools.nsh"

# The version information for these two must consist of 4 parts
VIProductVersion "${INFO_PRODUCTVERSION}.0"
VIFileVersion    "${INFO_PRODUCTVERSION}.0"

VIAddVersionKey "CompanyName"     "${INFO_COMPANYNAME}"
VIAddVersionKey "FileDescription" "${INFO_PRODUCTNAME} Installer"
VIAddVersionKey "ProductVersion"  "${INFO_PRODUCTVERSION}"
VIAddVersionKey "FileVersion"     "${INFO_PRODUCTVERSION}"
VIAddVersionKey "LegalCopyright"  "${INFO_COPYRIGHT}"
VIAddVersionKey "ProductName"     "${INFO_PRODUCTNAME}"

# Enable HiDPI support. https://nsis.sourceforge.io/Reference/ManifestDPIAware
ManifestDPIAware true
SetCompressor /SOLID lzma

!include "MUI2.nsh"

!define MUI_ICON "..\icon.ico"
!define MUI_UNICON "..\icon.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${PRODUCT_EXECUTABLE}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

# The first language is the fallback; Windows in German gets the German pages.
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "German"

LangString WEBVIEW2_INSTALLING ${LANG_ENGLISH} "Installing the Microsoft WebView2 Runtime"
LangString WEBVIEW2_INSTALLING ${LANG_GERMAN} "Microsoft WebView2 Runtime wird installiert"
LangString PULT_RUNNING ${LANG_ENGLISH} "Please close Pult first."
LangString PULT_RUNNING ${LANG_GERMAN} "Bitte zuerst Pult beenden."

!define UNINST_KEY_HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\${UNINST_KEY_NAME}"
!define WEBVIEW2_CLIENT "Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${INFO_PRODUCTNAME}"
OutFile "..\..\bin\pult-${ARCH}-installer.exe"
InstallDir "$LOCALAPPDATA\Programs\${INFO_PRODUCTNAME}"
InstallDirRegKey HKCU "${UNINST_KEY_HKCU}" "InstallLocation"
ShowInstDetails show

# The WebView2 runtime ships with Windows 11 and current Windows 10. Where it is missing, the bootstrapper installs it
# for this user (it runs without administrator rights).
!macro pult.webview2runtime
    SetRegView 64
    ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\${WEBVIEW2_CLIENT}" "pv"
    StrCmp $0 "" 0 webview2_ok
    ReadRegStr $0 HKLM "SOFTWARE\${WEBVIEW2_CLIENT}" "pv"
    StrCmp $0 "" 0 webview2_ok
    ReadRegStr $0 HKCU "Software\${WEBVIEW2_CLIENT}" "pv"
    StrCmp $0 "" 0 webview2_ok
    DetailPrint "$(WEBVIEW2_INSTALLING)"
    InitPluginsDir
    SetOutPath "$PLUGINSDIR\webview2bootstrapper"
    File "tmp\MicrosoftEdgeWebview2Setup.exe"
    ExecWait '"$PLUGINSDIR\webview2bootstrapper\MicrosoftEdgeWebview2Setup.exe" /silent /install'
    webview2_ok:
!macroend

Function .onInit
    !insertmacro wails.checkArchitecture
    SetShellVarContext current
FunctionEnd

Function un.onInit
    SetShellVarContext current
FunctionEnd

Section
    SetShellVarContext current
    !insertmacro pult.webview2runtime

    SetOutPath $INSTDIR
    # A running Pult.exe cannot be replaced.
    retry:
    ClearErrors
    Delete "$INSTDIR\${PRODUCT_EXECUTABLE}"
    IfErrors 0 +3
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "$(PULT_RUNNING)" IDRETRY retry
    Abort
    !insertmacro wails.files

    CreateShortCut "$SMPROGRAMS\${INFO_PRODUCTNAME}.lnk" "$INSTDIR\${PRODUCT_EXECUTABLE}"
    CreateShortCut "$DESKTOP\${INFO_PRODUCTNAME}.lnk" "$INSTDIR\${PRODUCT_EXECUTABLE}"

    WriteUninstaller "$INSTDIR\uninstall.exe"
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "DisplayName" "${INFO_PRODUCTNAME}"
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "Publisher" "${INFO_COMPANYNAME}"
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "DisplayVersion" "${INFO_PRODUCTVERSION}"
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "DisplayIcon" "$INSTDIR\${PRODUCT_EXECUTABLE}"
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "UninstallString" "$\"$INSTDIR\uninstall.exe$\""
    WriteRegStr HKCU "${UNINST_KEY_HKCU}" "QuietUninstallString" "$\"$INSTDIR\uninstall.exe$\" /S"
    WriteRegDWORD HKCU "${UNINST_KEY_HKCU}" "NoModify" 1
    WriteRegDWORD HKCU "${UNINST_KEY_HKCU}" "NoRepair" 1
    ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
    IntFmt $0 "0x%08X" $0
    WriteRegDWORD HKCU "${UNINST_KEY_HKCU}" "EstimatedSize" "$0"
SectionEnd

Section "uninstall"
    SetShellVarContext current
    Delete "$INSTDIR\${PRODUCT_EXECUTABLE}"
    Delete "$INSTDIR\uninstall.exe"
    RMDir "$INSTDIR"
    # WebView2's cache of the window (Wails keeps it under %APPDATA%\<exe name>).
    RMDir /r "$APPDATA\${PRODUCT_EXECUTABLE}"

    Delete "$SMPROGRAMS\${INFO_PRODUCTNAME}.lnk"
    Delete "$DESKTOP\${INFO_PRODUCTNAME}.lnk"

    DeleteRegKey HKCU "${UNINST_KEY_HKCU}"
SectionEnd
